"""The signed approval webhook: HMAC-SHA256 over timestamp and body, retried with backoff.

Headers: ``X-Airlock-Timestamp`` (Unix seconds) and ``X-Airlock-Signature: v1=<hex>``
where ``<hex>`` is HMAC-SHA256(key, ``"<timestamp>." + body``). A receiver recomputes it
over the raw body, compares in constant time and rejects timestamps older than a few
minutes (replays). The key is a platform secret (``AIRLOCK_WEBHOOK_KEY_SECRET``, default
``approval-webhook-key``: a file in ``AIRLOCK_SECRETS_DIR`` or an ARN in the ARN map).
Delivery failures go into the approval's notify status, the audit log, the task's events
and ``airlock_approval_webhooks_total{outcome="failed"}``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

TIMESTAMP_HEADER = "X-Airlock-Timestamp"
SIGNATURE_HEADER = "X-Airlock-Signature"
ATTEMPTS = 3
BACKOFF_SECONDS = 0.5


def sign(key: bytes, timestamp: str, body: bytes) -> str:
    return "v1=" + hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(key: bytes, timestamp: str, body: bytes, signature: str, *, max_age_seconds: float = 300) -> bool:
    """What a receiver does (also used by the tests)."""
    try:
        fresh = abs(time.time() - int(timestamp)) <= max_age_seconds
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(key, timestamp, body), signature)


def signed_notifier(
    key: bytes, *, attempts: int = ATTEMPTS, backoff_seconds: float = BACKOFF_SECONDS, sleep: Callable[[float], None] = time.sleep
) -> Callable[[str, dict[str, Any], float], tuple[bool, str]]:
    """A notify function for the runner: POST, sign, retry transient failures with exponential backoff."""

    def notify(url: str, payload: dict[str, Any], timeout_seconds: float) -> tuple[bool, str]:
        body = json.dumps({"type": "approval.requested", "approval": payload}, ensure_ascii=False).encode()
        last = ""
        for attempt in range(1, attempts + 1):
            timestamp = str(int(time.time()))
            headers = {
                "content-type": "application/json",
                "user-agent": "airlock-runtime",
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: sign(key, timestamp, body),
            }
            try:
                response = httpx.post(url, content=body, headers=headers, timeout=timeout_seconds)
                if response.status_code < 300:
                    return True, f"delivered: HTTP {response.status_code} (attempt {attempt})"
                last = f"HTTP {response.status_code}"
                if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
                    break  # the receiver refused it; retrying the same request will not help
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            if attempt < attempts:
                sleep(backoff_seconds * 2 ** (attempt - 1))
        return False, f"failed after {attempt} attempt(s): {last}"

    return notify
