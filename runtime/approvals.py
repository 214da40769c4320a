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
from typing import TYPE_CHECKING, Any

import httpx

from runtime.errors import BadInput
from runtime.store import now_iso

if TYPE_CHECKING:
    from runtime.store_api import StateStore

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


def decision_record(request: ApprovalRequest, *, status: str, by: str, reason: str | None) -> tuple[str, dict[str, Any]]:
    """The audit record of a decision taken with the CLI (kind, data): one shape for every store."""
    return "approval_decided", {
        "approval_id": request.id,
        "tool_call_id": request.tool_call_id,
        "tool": request.tool,
        "status": status,
        "decided_by": by,
        "reason": reason,
    }


# The functions below are what the runner and the CLI call; the store keeps the records
# (its own tables or items: runtime/store_approvals.py, runtime/store_aws/approvals.py).


def get(store: StateStore, approval_id: str) -> ApprovalRecord | None:
    return store.approval(approval_id)


def for_call(store: StateStore, task_id: str, tool_call_id: str) -> ApprovalRecord | None:
    return store.approval_for_call(task_id, tool_call_id)


def pending_for_task(store: StateStore, task_id: str) -> ApprovalRecord | None:
    return store.pending_approval(task_id)


def list_approvals(store: StateStore, *, include_decided: bool = False) -> list[ApprovalRecord]:
    return store.list_approvals(include_decided=include_decided)


def decide(
    store: StateStore, approval_id: str, *, approve: bool, by: str, reason: str | None, audit: Any | None = None
) -> ApprovalRecord:
    """Record a decision. With ``audit`` (an AuditLog), the decision and its audit record are
    kept together: if the record cannot be written, the approval stays pending."""
    if not approval_id.strip():
        raise BadInput("APPROVAL_ID: must not be empty (see `airlock-runtime approvals list`)")
    return store.decide_approval(approval_id, approve=approve, by=by, reason=reason, requeue_version=None, audit=audit)


def record_notify_status(store: StateStore, approval_id: str, status: str) -> None:
    store.record_notify_status(approval_id, status)


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
