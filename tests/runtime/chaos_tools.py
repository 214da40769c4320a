"""The chaos test's tool (copied next to its agent.yaml as chaos_tools.py): a payment with a real side effect.

``pay`` behaves like a payments API that honours idempotency keys, shared by every process
on the machine: under an exclusive file lock it logs each execution (attempts.log: task,
pid, key, order, amount), applies the payment once per key (payments.log: key, task, order,
amount) and logs a retry whose key was already paid with different details (conflicts.log),
which an API would refuse. It then takes a moment to answer, as a remote API does, with a
marker in inflight/ (``<pid>.<key>``) while it does: the test SIGKILLs a process while it
holds one, between the payment and the runtime recording its result.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from runtime import ToolContext

EFFECTS = Path(os.environ.get("AIRLOCK_TEST_EFFECTS", "."))
ANSWER_SECONDS = 0.1


def pay(order_id: int, amount_cents: int, context: ToolContext) -> dict:
    """Pay an order.

    Args:
        order_id: The order to pay.
        amount_cents: Amount in euro cents.
    """
    key = context.idempotency_key
    details = f"{context.task_id} {order_id} {amount_cents}"
    with open(EFFECTS / "payments.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(EFFECTS / "attempts.log", "a") as fh:
            fh.write(f"{key} {os.getpid()} {details}\n")
        payments = EFFECTS / "payments.log"
        paid = {}
        if payments.exists():
            for line in payments.read_text().splitlines():
                paid_key, _, paid_details = line.partition(" ")
                paid[paid_key] = paid_details
        if key not in paid:
            with open(payments, "a") as fh:
                fh.write(f"{key} {details}\n")
        elif paid[key] != details:
            with open(EFFECTS / "conflicts.log", "a") as fh:
                fh.write(f"{key} paid {paid[key]!r}, retried with {details!r}\n")
    inflight = EFFECTS / "inflight" / f"{os.getpid()}.{key}"
    inflight.parent.mkdir(exist_ok=True)
    inflight.touch()
    time.sleep(ANSWER_SECONDS)
    inflight.unlink()
    return {"order_id": order_id, "paid_cents": amount_cents, "payment": key}
