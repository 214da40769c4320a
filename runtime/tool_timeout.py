"""Per-tool time limits (`timeoutSeconds` in the agent spec, default 60).

A Python function cannot be stopped from outside, so the call runs in its own daemon
thread and the runner waits at most the limit: past it, the call becomes an error result
the model sees, the task goes on, and the worker's heartbeat and other tasks were never
blocked (they run in other threads). The abandoned call may still finish in the
background; its result is discarded, and a retry of the same call carries the same
idempotency key, so a well-behaved tool still applies its side effect once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

DEFAULT_TIMEOUT_SECONDS = 60.0


class ToolTimeout(Exception):
    """The tool did not return within its timeoutSeconds."""


def call_with_timeout(function: Callable[[], T], timeout_seconds: float, tool: str) -> T:
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = function()
        except BaseException as exc:  # handed to the caller's thread, which decides
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=f"tool-{tool}", daemon=True)
    thread.start()
    thread.join(timeout_seconds)
    if thread.is_alive():
        raise ToolTimeout(
            f"no result within timeoutSeconds={timeout_seconds:g}; the call was abandoned and its result "
            "will be ignored"
        )
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
