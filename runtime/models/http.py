"""JSON over HTTP with timeouts and bounded retries, shared by the model clients.

Retried: connection errors, timeouts, 408, 409, 429 and 5xx (incl. Anthropic's 529),
at most ``max_retries`` times. The wait is the server's ``retry-after-ms`` /
``Retry-After`` (seconds or HTTP date) when present, else exponential backoff with
jitter from ``backoff_seconds``. A Retry-After longer than ``max_retry_after_seconds``
or beyond the call's deadline ends the call instead of sleeping through the budget.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from runtime.models.base import DeadlineExceeded, ModelCallError

if TYPE_CHECKING:
    from runtime.spec import ModelRoute

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 30.0
    max_retry_after_seconds: float = 120.0


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The server's requested wait, from retry-after-ms or Retry-After, if any."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def backoff_delay(policy: RetryPolicy, attempt: int, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter for retry number `attempt` (0-based)."""
    base = min(policy.max_backoff_seconds, policy.backoff_seconds * (2**attempt))
    return base * (0.5 + 0.5 * rand())


def _excerpt(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text if len(text) <= 300 else text[:297] + "..."


class JsonHttpClient:
    def __init__(
        self,
        *,
        url: str,
        headers: Mapping[str, str],
        timeout_seconds: float,
        policy: RetryPolicy,
        label: str,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self.policy = policy
        self.label = label
        self.timeout_seconds = timeout_seconds
        self._sleep = sleep
        self._client = httpx.Client(headers=dict(headers), transport=transport)

    def close(self) -> None:
        self._client.close()

    def _timeout(self, deadline: float | None) -> httpx.Timeout:
        total = self.timeout_seconds
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeadlineExceeded(f"{self.label}: wall-clock budget exhausted before the call")
            total = min(total, remaining)
        return httpx.Timeout(total, connect=min(total, 10.0))

    def fetch_json(self, method: str, url: str, body: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """One best-effort request for facts about the server (no retries): None when it fails."""
        try:
            response = self._client.request(method, url, json=body, timeout=httpx.Timeout(10.0))
            data = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def post(self, body: Mapping[str, Any], deadline: float | None = None) -> dict[str, Any]:
        attempt = 0
        while True:
            wait: float | None = None
            try:
                response = self._client.post(self.url, json=body, timeout=self._timeout(deadline))
            except httpx.TimeoutException as exc:
                if deadline is not None and time.monotonic() >= deadline:
                    raise DeadlineExceeded(f"{self.label}: wall-clock budget ran out during the call") from None
                failure = ModelCallError(
                    f"{self.label}: request timed out ({type(exc).__name__})", error_type="timeout"
                )
            except httpx.TransportError as exc:
                failure = ModelCallError(
                    f"{self.label}: cannot reach {self.url}: {type(exc).__name__}: {exc}",
                    error_type=type(exc).__name__,
                )
            else:
                if response.status_code < 300:
                    try:
                        data = response.json()
                    except ValueError:
                        raise ModelCallError(
                            f"{self.label}: response is not JSON: {_excerpt(response)}", error_type="invalid_response"
                        ) from None
                    if not isinstance(data, dict):
                        raise ModelCallError(
                            f"{self.label}: response is not a JSON object", error_type="invalid_response"
                        )
                    return data
                failure = ModelCallError(
                    f"{self.label}: HTTP {response.status_code} from {self.url}: {_excerpt(response)}",
                    error_type=str(response.status_code),
                    status=response.status_code,
                )
                if response.status_code not in RETRYABLE_STATUS:
                    raise failure
                wait = retry_after_seconds(response.headers)
                if wait is not None and wait > self.policy.max_retry_after_seconds:
                    raise ModelCallError(
                        f"{failure} (server asks to retry after {wait:.0f}s, more than the "
                        f"{self.policy.max_retry_after_seconds:.0f}s this runtime waits)",
                        error_type=failure.error_type,
                        status=failure.status,
                    )
            if attempt >= self.policy.max_retries:
                raise ModelCallError(
                    f"{failure} (gave up after {attempt + 1} attempts)",
                    error_type=failure.error_type,
                    status=failure.status,
                )
            delay = wait if wait is not None else backoff_delay(self.policy, attempt)
            if deadline is not None and time.monotonic() + delay >= deadline:
                raise DeadlineExceeded(
                    f"{self.label}: wall-clock budget would run out while waiting to retry ({failure})"
                )
            self._sleep(delay)
            attempt += 1


class RouteClient:
    """What every model client shares: the route, the server it talks to (for telemetry's
    server.address/port), and one retrying JSON client for the provider's endpoint path."""

    provider_name: str

    def __init__(
        self,
        route_name: str,
        route: "ModelRoute",
        *,
        path: str,
        headers: Mapping[str, str],
        sleep: Callable[[float], None],
        transport: httpx.BaseTransport | None,
    ) -> None:
        self.route_name = route_name
        self.route = route
        self.model = route.model
        parts = urlsplit(route.base_url)
        self.server_address = parts.hostname
        self.server_port: int | None = parts.port or (443 if parts.scheme == "https" else 80)
        self._http = JsonHttpClient(
            url=route.base_url + path,
            headers={"content-type": "application/json", **headers},
            timeout_seconds=route.timeout_seconds,
            policy=RetryPolicy(max_retries=route.max_retries, backoff_seconds=route.retry_backoff_seconds),
            label=f"model route {route_name!r} ({route.model})",
            sleep=sleep,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()
