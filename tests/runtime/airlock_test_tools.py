"""Tools used by the runtime tests (copied next to each test's agent.yaml as tools.py).

issue_refund behaves like a payments API that honours idempotency keys: every execution
is logged to attempts.log, but the side effect (effects.log) is applied once per key.
Marker files in $AIRLOCK_TEST_EFFECTS make it SIGKILL its own process at a chosen point.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from runtime import ToolContext

EFFECTS = Path(os.environ.get("AIRLOCK_TEST_EFFECTS", "."))


def _crash_if_armed(marker: str) -> None:
    path = EFFECTS / marker
    if path.exists():
        path.unlink()
        os.kill(os.getpid(), signal.SIGKILL)


def lookup_order(order_id: int) -> dict:
    """Look an order up.

    Args:
        order_id: The order number.
    """
    return {"order_id": order_id, "status": "delivered", "amount_paid": 59.9}


def issue_refund(order_id: int, amount: float, context: ToolContext) -> dict:
    """Refund an order.

    Args:
        order_id: The order to refund.
        amount: Amount in EUR.
    """
    with open(EFFECTS / "attempts.log", "a") as fh:
        fh.write(context.idempotency_key + "\n")
    _crash_if_armed("crash_before_effect")
    effects = EFFECTS / "effects.log"
    done = effects.read_text().split() if effects.exists() else []
    if context.idempotency_key not in done:
        with open(effects, "a") as fh:
            fh.write(context.idempotency_key + "\n")
    _crash_if_armed("crash_after_effect")
    return {"refunded": amount, "order_id": order_id, "key": context.idempotency_key}


def explode(reason: str) -> str:
    """Always fails."""
    raise ValueError(f"boom: {reason}")


def leak_secret(context: ToolContext) -> str:
    """Returns its secret in the result (a badly written tool)."""
    return f"the payments key is {context.secrets['payments']}"


def fail_with_secret(context: ToolContext) -> str:
    """Raises an error that contains its secret."""
    raise PermissionError(f"payments API rejected key {context.secrets['payments']}")


def which_secrets(context: ToolContext) -> dict:
    """Reports which secrets it received (names only) and a fingerprint of each value."""
    return {name: len(value) for name, value in sorted(context.secrets.items())}


def secret_length(context: ToolContext) -> int:
    """Length of the payments secret (proves the value arrived without revealing it)."""
    return len(context.secrets["payments"])


class Address(BaseModel):
    street: str
    zip: str


def ship(order_id: int, speed: Literal["standard", "express"], address: Address, note: str = "") -> dict:
    """Ship an order.

    Args:
        order_id: The order.
        speed: Shipping speed.
        address: Where to ship.
        note: Optional note for the courier.
    """
    return {"order_id": order_id, "speed": speed, "zip": address.zip, "note": note}


def nap(seconds: float) -> str:
    """Sleep (used to spend wall-clock budget)."""
    time.sleep(seconds)
    return "rested"


async def async_lookup(order_id: int) -> dict:
    """Async tool."""
    return {"order_id": order_id, "async": True}


def record_effect(order_id: int, context: ToolContext) -> dict:
    """A side effect shared by several processes: every execution is logged with its pid and time,
    the effect itself applied once per idempotency key (under a file lock, as a payments API would)."""
    import fcntl

    with open(EFFECTS / "shared.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(EFFECTS / "shared_attempts.log", "a") as fh:
            fh.write(f"{context.task_id} {os.getpid()} {time.time():.6f} {context.idempotency_key}\n")
        effects = EFFECTS / "shared_effects.log"
        lines = effects.read_text().splitlines() if effects.exists() else []
        if not any(line.split()[0] == context.idempotency_key for line in lines):
            with open(effects, "a") as fh:
                fh.write(f"{context.idempotency_key} {context.task_id}\n")
    return {"order_id": order_id, "done": True}
