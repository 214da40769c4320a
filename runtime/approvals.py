"""Human approvals for `ask` tool calls: a small serializable payload, a webhook, a decision.

Shaped like pydantic-ai's deferred tool requests: the pending approval carries only what
a human needs to decide (which task and agent, which tool, the redacted arguments and
why it was asked) and is plain JSON, so it can be listed, POSTed to a webhook, stored
and decided later by another process. The decision is recorded here; the task
continues when it is resumed.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from runtime.errors import BadInput, UnknownApproval
from runtime.store import Store, now_iso

NOTE_CHARS = 500


@dataclass(frozen=True, kw_only=True)
class ApprovalRequest:
    id: str
    task_id: str
    tool_call_id: str
    tool: str
    arguments: Any
    """Redacted arguments (parsed JSON when the model produced valid JSON, else the text)."""
    reason: str
    requested_by: dict[str, str]
    """The agent asking: name and version."""
    model_note: str | None
    """What the model said alongside the call (redacted, truncated): its stated why."""
    requested_at: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class ApprovalRecord:
    request: ApprovalRequest
    status: str  # pending | approved | denied
    decided_at: str | None
    decided_by: str | None
    decision_reason: str | None
    notify_status: str | None

    @property
    def id(self) -> str:
        return self.request.id

    def to_json(self) -> dict[str, Any]:
        out = self.request.to_json()
        out["status"] = self.status
        out["decision"] = (
            None
            if self.status == "pending"
            else {"decided_at": self.decided_at, "decided_by": self.decided_by, "reason": self.decision_reason}
        )
        out["notify_status"] = self.notify_status
        return out


def new_approval_id() -> str:
    return "apr_" + uuid.uuid4().hex[:16]


def build_request(
    *,
    task_id: str,
    tool_call_id: str,
    tool: str,
    raw_arguments: str,
    reason: str,
    agent: str,
    agent_version: str,
    note: str | None,
) -> ApprovalRequest:
    try:
        arguments: Any = json.loads(raw_arguments) if raw_arguments.strip() else {}
    except json.JSONDecodeError:
        arguments = raw_arguments
    if note and len(note) > NOTE_CHARS:
        note = note[: NOTE_CHARS - 1] + "…"
    return ApprovalRequest(
        id=new_approval_id(),
        task_id=task_id,
        tool_call_id=tool_call_id,
        tool=tool,
        arguments=arguments,
        reason=reason,
        requested_by={"agent": agent, "agent_version": agent_version},
        model_note=note or None,
        requested_at=now_iso(),
    )


_COLUMNS = "payload, status, decided_at, decided_by, decision_reason, notify_status"


def _record(row: tuple[Any, ...]) -> ApprovalRecord:
    payload = json.loads(row[0])
    return ApprovalRecord(
        request=ApprovalRequest(**payload),
        status=row[1],
        decided_at=row[2],
        decided_by=row[3],
        decision_reason=row[4],
        notify_status=row[5],
    )


def get(store: Store, approval_id: str) -> ApprovalRecord | None:
    row = store.conn.execute(f"SELECT {_COLUMNS} FROM approvals WHERE id=?", (approval_id,)).fetchone()
    return _record(row) if row else None


def for_call(store: Store, task_id: str, tool_call_id: str) -> ApprovalRecord | None:
    row = store.conn.execute(
        f"SELECT {_COLUMNS} FROM approvals WHERE task_id=? AND tool_call_id=?", (task_id, tool_call_id)
    ).fetchone()
    return _record(row) if row else None


def pending_for_task(store: Store, task_id: str) -> ApprovalRecord | None:
    row = store.conn.execute(
        f"SELECT {_COLUMNS} FROM approvals WHERE task_id=? AND status='pending' ORDER BY requested_at LIMIT 1",
        (task_id,),
    ).fetchone()
    return _record(row) if row else None


def list_approvals(store: Store, *, include_decided: bool = False) -> list[ApprovalRecord]:
    where = "" if include_decided else " WHERE status='pending'"
    rows = store.conn.execute(f"SELECT {_COLUMNS} FROM approvals{where} ORDER BY requested_at").fetchall()
    return [_record(r) for r in rows]


def decide(
    store: Store, approval_id: str, *, approve: bool, by: str, reason: str | None, audit: Any | None = None
) -> ApprovalRecord:
    """Record a decision. With ``audit`` (an AuditLog), the decision and its audit record are
    one transaction: if the record cannot be written, the approval stays pending."""
    if not approval_id.strip():
        raise BadInput("APPROVAL_ID: must not be empty (see `airlock-runtime approvals list`)")
    status = "approved" if approve else "denied"
    with store.transaction() as cur:
        row = cur.execute(
            "SELECT status, decided_at, payload FROM approvals WHERE id=?" + store.row_lock, (approval_id,)
        ).fetchone()
        if row is None:
            raise UnknownApproval(approval_id)
        if row[0] != "pending":
            raise BadInput(f"approval {approval_id!r} was already decided ({row[0]} at {row[1]}); decisions are final")
        cur.execute(
            "UPDATE approvals SET status=?, decided_at=?, decided_by=?, decision_reason=? WHERE id=?",
            (status, now_iso(), by, reason, approval_id),
        )
        if audit is not None:
            request = ApprovalRequest(**json.loads(row[2]))
            store.append_audit(
                cur,
                audit,
                "approval_decided",
                {
                    "approval_id": approval_id,
                    "tool_call_id": request.tool_call_id,
                    "tool": request.tool,
                    "status": status,
                    "decided_by": by,
                    "reason": reason,
                },
                task_id=request.task_id,
                agent_version=request.requested_by.get("agent_version"),
            )
    record = get(store, approval_id)
    assert record is not None
    return record


def record_notify_status(store: Store, approval_id: str, status: str) -> None:
    with store.transaction() as cur:
        cur.execute("UPDATE approvals SET notify_status=? WHERE id=?", (status, approval_id))


def notify_webhook(url: str, payload: dict[str, Any], timeout_seconds: float) -> tuple[bool, str]:
    """POST the pending approval. Never raises: a failed notification must not lose the approval."""
    try:
        response = httpx.post(
            url,
            json={"type": "approval.requested", "approval": payload},
            timeout=timeout_seconds,
            headers={"user-agent": "airlock-runtime"},
        )
    except httpx.HTTPError as exc:
        return False, f"failed: {type(exc).__name__}: {exc}"
    if response.status_code >= 300:
        return False, f"failed: HTTP {response.status_code}"
    return True, f"delivered: HTTP {response.status_code}"
