"""The table's layout: every kind of record the AWS backend keeps, as (pk, sk) keys.

One DynamoDB table, string keys ``pk``/``sk``:

=====================  ==========================  =========================================
pk                     sk                          what
=====================  ==========================  =========================================
``tasks``              task id                     the task row (status, lease, queue token)
``task#<id>``          ``msg#<index>``             one conversation message (or its S3 ref)
``task#<id>``          ``ckpt#<seq>``              one checkpoint (message count, usage)
``task#<id>``          ``ledger#<tool call id>``   the idempotency ledger
``task#<id>``          ``approval#<tool call id>`` which approval belongs to a call
``task#<id>``          ``event#<id>`` / ``events``  task events, and their counter
``approvals``          approval id                 the approval record
``submissions``        idempotency key             earlier submission with that key
``controls``           ``kill_all``                the global kill switch
``secrets``            ``key`` / ``fp#...``        the secret history (runtime/secret_history.py)
``audit``              ``head``                    the audit chain head (runtime/contract.py)
=====================  ==========================  =========================================

Task rows share one partition so listing and counting are a Query, not a Scan (the
partition's write rate, ~1000 writes/s, bounds the steps per second of one deployment).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

TASKS = "tasks"
APPROVALS = "approvals"
SUBMISSIONS = "submissions"
CONTROLS = "controls"
SECRETS = "secrets"
KILL_ALL = "kill_all"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def task_pk(task_id: str) -> str:
    return f"task#{task_id}"


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def msg_sk(index: int) -> str:
    return f"msg#{index:08d}"


def ckpt_sk(seq: int) -> str:
    return f"ckpt#{seq:08d}"


def ledger_sk(tool_call_id: str) -> str:
    return f"ledger#{tool_call_id}"


def approval_ref_sk(tool_call_id: str) -> str:
    return f"approval#{tool_call_id}"


def event_sk(event_id: int) -> str:
    return f"event#{event_id:012d}"


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(_plain(v)) for k, v in values.items()}


def to_values(values: dict[str, Any]) -> dict[str, Any]:
    """Expression attribute values (``:name`` -> typed value)."""
    return {f":{k}": _serializer.serialize(_plain(v)) for k, v in values.items()}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    out = {k: _deserializer.deserialize(v) for k, v in item.items()}
    for k, v in out.items():
        if isinstance(v, Decimal):
            out[k] = int(v) if v == v.to_integral_value() and k != "lease_expires_at" else float(v)
    return out
