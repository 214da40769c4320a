"""Tools of the example refunds agent.

The runtime validates the model's arguments against these type hints before calling,
builds the JSON schema the model sees from them and the docstrings, and passes a
`context` with the idempotency key and the secrets each tool lists in agent.yaml.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from runtime import ToolContext

# A stand-in order system so the example runs anywhere.
ORDERS = {
    1042: {"order_id": 1042, "status": "delivered", "amount_paid": 59.90, "currency": "EUR"},
    1043: {"order_id": 1043, "status": "in_transit", "amount_paid": 12.00, "currency": "EUR"},
}
LEDGER = Path(os.environ.get("REFUNDS_LEDGER", "refunds-ledger.jsonl"))


def lookup_order(order_id: int) -> dict:
    """Look an order up by its number.

    Args:
        order_id: The order number the customer gave.
    """
    order = ORDERS.get(order_id)
    if order is None:
        raise LookupError(f"no order {order_id}")
    return order


def issue_refund(
    order_id: int, amount: float, reason: Literal["damaged", "late", "other"], context: ToolContext
) -> dict:
    """Refund (part of) an order to the customer's original payment method.

    Args:
        order_id: The order to refund.
        amount: Amount to refund, at most the amount paid.
        reason: Why the customer gets a refund.
    """
    order = lookup_order(order_id)
    if amount <= 0 or amount > order["amount_paid"]:
        raise ValueError(f"amount must be between 0 and {order['amount_paid']}")
    # A real payments API takes the idempotency key as a header, so a retried call after
    # a crash cannot refund twice. This stand-in de-duplicates on it the same way.
    _api_key = context.secrets["payments"]  # sent to the payments API; never returned
    done = LEDGER.read_text().splitlines() if LEDGER.exists() else []
    for line in done:
        entry = json.loads(line)
        if entry["idempotency_key"] == context.idempotency_key:
            return entry
    entry = {
        "refund_id": f"rf_{len(done) + 1}",
        "order_id": order_id,
        "amount": amount,
        "reason": reason,
        "idempotency_key": context.idempotency_key,
    }
    with LEDGER.open("a") as fh:
        fh.write(json.dumps(entry) + "\n")
    return entry


def drop_table(table: str) -> str:
    """Drop a database table. Listed with policy deny: it is never loaded or run."""
    raise RuntimeError("unreachable")
