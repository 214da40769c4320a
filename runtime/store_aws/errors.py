"""AWS answers the backend expects, told apart from real failures."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


def code_of(exc: BaseException) -> str:
    return str(exc.response.get("Error", {}).get("Code", "")) if isinstance(exc, ClientError) else ""


def is_condition_failed(exc: BaseException) -> bool:
    return code_of(exc) == "ConditionalCheckFailedException"


def was_retried(exc: BaseException) -> bool:
    """Whether botocore sent the request more than once before this answer.

    A retry may follow an attempt that the service carried out but whose answer was lost
    (a timeout, a 5xx from a proxy): the retry then meets its own first attempt.
    """
    if not isinstance(exc, ClientError):
        return False
    return int(exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) or 0) > 0


def cancellation_reasons(exc: BaseException) -> list[str]:
    """Per-item codes of a cancelled TransactWriteItems ("None" for items that were fine)."""
    if code_of(exc) != "TransactionCanceledException":
        return []
    reasons: list[dict[str, Any]] = exc.response.get("CancellationReasons") or []  # type: ignore[attr-defined]
    if reasons:
        return [str(r.get("Code", "None")) for r in reasons]
    # Some servers only put the list in the message: "... [None, ConditionalCheckFailed]"
    message = str(exc.response.get("Error", {}).get("Message", ""))  # type: ignore[attr-defined]
    if "[" in message:
        return [part.strip() for part in message.rsplit("[", 1)[1].rstrip("]").split(",")]
    return []
