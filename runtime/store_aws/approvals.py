"""Approvals on DynamoDB: the record in partition ``approvals``, a pointer in the task's partition.

A decision is a conditional update (``status = pending``): of two approvers deciding at
once, one wins and the other is told the decision is final. With a requeue, the decision,
the task row going back to ``queued`` (with its new queue token) and nothing else are one
transaction; the queue message is sent before it (see work_queue.py).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from runtime.errors import BadInput, UnknownApproval
from runtime.store_aws import items
from runtime.store_aws.errors import cancellation_reasons
from runtime.store_aws.table import Change

if TYPE_CHECKING:
    from runtime.approvals import ApprovalRecord
    from runtime.store_aws.store import AwsStoreBase

    _Base = AwsStoreBase
else:
    _Base = object


def approval_record(values: dict[str, Any]) -> ApprovalRecord:
    from runtime.approvals import ApprovalRecord, ApprovalRequest

    return ApprovalRecord(
        request=ApprovalRequest(**json.loads(values["payload"])),
        status=values["status"],
        decided_at=values.get("decided_at"),
        decided_by=values.get("decided_by"),
        decision_reason=values.get("decision_reason"),
        notify_status=values.get("notify_status"),
    )


class ApprovalItemsMixin(_Base):
    def approval(self, approval_id: str) -> ApprovalRecord | None:
        values = self.table.get(items.APPROVALS, approval_id)
        return approval_record(values) if values else None

    def approval_for_call(self, task_id: str, tool_call_id: str) -> ApprovalRecord | None:
        ref = self.table.get(items.task_pk(task_id), items.approval_ref_sk(tool_call_id))
        return self.approval(ref["approval_id"]) if ref else None

    def _approvals_of(self, task_id: str) -> list[ApprovalRecord]:
        refs = self.table.query(items.task_pk(task_id), "approval#")
        records = [r for r in (self.approval(ref["approval_id"]) for ref in refs) if r is not None]
        return sorted(records, key=lambda r: r.request.requested_at)

    def pending_approval(self, task_id: str) -> ApprovalRecord | None:
        return next((r for r in self._approvals_of(task_id) if r.status == "pending"), None)

    def list_approvals(self, *, include_decided: bool = False) -> list[ApprovalRecord]:
        records = [approval_record(v) for v in self.table.query(items.APPROVALS)]
        records = [r for r in records if include_decided or r.status == "pending"]
        return sorted(records, key=lambda r: r.request.requested_at)

    def count_pending_approvals(self) -> int:
        return sum(1 for v in self.table.query(items.APPROVALS) if v["status"] == "pending")

    def approvals_of_task(self, task_id: str) -> tuple[int, int]:
        records = self._approvals_of(task_id)
        return len(records), sum(1 for r in records if r.status == "denied")

    def record_notify_status(self, approval_id: str, status: str) -> None:
        self.table.update(Change(items.APPROVALS, approval_id, set={"notify_status": status},
                                 condition="attribute_exists(#pk)"))

    def decide_approval(
        self,
        approval_id: str,
        *,
        approve: bool,
        by: str,
        reason: str | None,
        requeue_version: str | None,
        audit: Any | None = None,
    ) -> ApprovalRecord:
        """Record a decision (with ``requeue_version``, queue the parked task again; with ``audit``,
        its audit record is written first: no decision is kept without one)."""
        from runtime.approvals import decision_record
        from runtime.store import WAITING_APPROVAL, now_iso
        from runtime.store_aws.work_queue import new_token
        from runtime.store_queue import QUEUED

        current = self.approval(approval_id)
        if current is None:
            raise UnknownApproval(approval_id)
        self._refuse_decided(approval_id, current)
        status = "approved" if approve else "denied"
        if audit is not None:
            kind, data = decision_record(current.request, status=status, by=by, reason=reason)
            self.record_audit_head(audit.append(kind, data, task_id=current.request.task_id,
                                                agent_version=current.request.requested_by.get("agent_version")))
        ts = now_iso()
        decision = Change(items.APPROVALS, approval_id,
                          set={"status": status, "decided_at": ts, "decided_by": by, "decision_reason": reason},
                          condition="#status = :pending", values={"pending": "pending"})
        writes: list[Any] = [decision]
        task_id = current.request.task_id
        if requeue_version is not None:
            task = self.get_task(task_id)
            if task is not None and task.status == WAITING_APPROVAL:
                token = new_token()
                self._send(task_id, requeue_version, token)
                writes.append(Change(items.TASKS, task_id, set={"status": QUEUED, "queue_token": token, "updated_at": ts},
                                     remove=("owner",), condition="#status = :waiting",
                                     values={"waiting": WAITING_APPROVAL}))
        try:
            self.table.transact(writes)
        except ClientError as exc:
            reasons = cancellation_reasons(exc)
            if not reasons:
                raise
            if reasons[0] not in ("None", ""):
                self._refuse_decided(approval_id, self.approval(approval_id))
            self.table.update(decision)  # the task moved on meanwhile: the decision alone
        record = self.approval(approval_id)
        assert record is not None
        return record

    @staticmethod
    def _refuse_decided(approval_id: str, record: ApprovalRecord | None) -> None:
        if record is None:
            raise UnknownApproval(approval_id)
        if record.status != "pending":
            raise BadInput(
                f"approval {approval_id!r} was already decided ({record.status} at {record.decided_at}); decisions are final"
            )
