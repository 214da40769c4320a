"""Task status changes, submissions, kill switches, task events and the audit head on DynamoDB.

Operator actions that come with an audit record (``audited``) write the record first: the
audit log is write-ahead everywhere, so a record may describe an action whose write then
failed (the next attempt writes another), but no action is kept without its record.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from runtime.budget import Usage
from runtime.store_api import AuditedAction, EventRecord, Submission, TaskPage
from runtime.store_aws import items
from runtime.store_aws.errors import is_condition_failed
from runtime.store_aws.table import Change, New

if TYPE_CHECKING:
    from runtime.store_aws.store import AwsStoreBase

    _Base = AwsStoreBase
else:
    _Base = object


def _write_ahead(audited: AuditedAction | None) -> tuple[int, str] | None:
    if audited is None:
        return None
    head: tuple[int, str] = audited.audit.append(
        audited.kind, audited.data, task_id=audited.task_id, agent_version=audited.agent_version
    )
    return head


class ControlsMixin(_Base):
    # ------------------------------------------------------------- submissions

    def submit_task(self, sub: Submission, *, audit_head: tuple[int, str] | None = None) -> None:
        """Create a queued task, its first checkpoint and its submission atomically; its message is sent first."""
        from runtime.store import now_iso
        from runtime.store_aws.work_queue import new_token
        from runtime.store_queue import QUEUED

        token = new_token()
        self._send(sub.task_id, sub.agent_version, token)
        row = {"agent_name": sub.agent_name, "agent_version": sub.agent_version, "spec_text": sub.spec_text,
               "spec_path": sub.spec_path, "spec_dir": sub.spec_dir, "task_text": sub.task_text, "queue_token": token,
               "request_sha256": sub.request_sha256, "metadata": json.dumps(sub.metadata), "submitted_by": sub.submitted_by}
        writes = self._new_task_writes(task_id=sub.task_id, row=row, first_message={"role": "user", "content": sub.task_text},
                                       usage=Usage(), status=QUEUED, ts=now_iso())
        if sub.idempotency_key is not None:
            writes.append(New(items.SUBMISSIONS, sub.idempotency_key,
                              {"task_id": sub.task_id, "request_sha256": sub.request_sha256}))
        self.table.transact(writes + self._audit_head_writes(audit_head))

    def find_submission(self, idempotency_key: str) -> tuple[str, str] | None:
        values = self.table.get(items.SUBMISSIONS, idempotency_key)
        return (values["task_id"], values["request_sha256"]) if values else None

    def task_metadata(self, task_id: str) -> dict[str, Any]:
        values = self.table.get(items.TASKS, task_id)
        return json.loads(values["metadata"]) if values and values.get("metadata") else {}

    def page_tasks(self, *, status: str | None, limit: int, cursor: tuple[str, str] | None) -> TaskPage:
        """Newest first; ``cursor`` continues after the last task of the previous page."""
        from runtime.store_queue import _cursor_encode

        rows = sorted(((v["created_at"], v["sk"]) for v in self._task_items() if not status or v["status"] == status),
                      reverse=True)
        if cursor:
            rows = [r for r in rows if r < cursor]
        page = rows[:limit]
        more = len(rows) > limit
        return TaskPage(task_ids=[r[1] for r in page],
                        next_cursor=_cursor_encode(page[-1][0], page[-1][1]) if more and page else None)

    def count_by_status(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for values in self._task_items():
            counts[values["status"]] = counts.get(values["status"], 0) + 1
        return counts

    # ------------------------------------------------------------- status

    def set_status(
        self, task_id: str, status: str, *, error: str | None = None, release: bool = True,
        audited: AuditedAction | None = None,
    ) -> None:
        """Status change without a new checkpoint (used for tasks no process is running)."""
        from runtime.store import RUNNING, now_iso
        from runtime.store_queue import QUEUED

        self.record_audit_head(_write_ahead(audited))
        self.table.update(Change(items.TASKS, task_id, set={"status": status, "error": error, "updated_at": now_iso()},
                                 remove=("owner",) if release else (), condition="attribute_exists(#pk)"))
        if status not in (RUNNING, QUEUED):
            # Ended outside a worker: no worker may pick it up (its message becomes stale).
            try:
                self.table.update(Change(items.TASKS, task_id, remove=("queue_token",),
                                         condition="attribute_exists(#pk) AND attribute_not_exists(#lease_owner)"))
            except ClientError as exc:
                if not is_condition_failed(exc):
                    raise

    # ------------------------------------------------------------- kill switches

    def request_kill(self, task_id: str, *, audited: AuditedAction | None = None) -> None:
        from runtime.store import now_iso

        self.record_audit_head(_write_ahead(audited))
        try:
            self.table.update(Change(items.TASKS, task_id, set={"kill_requested": True, "updated_at": now_iso()},
                                     condition="attribute_exists(#pk)"))
        except ClientError as exc:
            if not is_condition_failed(exc):
                raise

    def kill_state(self, task_id: str) -> tuple[bool, dict[str, Any] | None]:
        """(this task's kill flag, the global kill switch if engaged)."""
        task = self.table.get(items.TASKS, task_id)
        if task is None:
            return False, None
        return bool(task.get("kill_requested")), self.global_kill()

    def global_kill(self) -> dict[str, Any] | None:
        values = self.table.get(items.CONTROLS, items.KILL_ALL)
        return json.loads(values["value"]) if values and "value" in values else None

    def engage_global_kill(self, info: dict[str, Any], *, audited: AuditedAction | None = None) -> None:
        from runtime.store import now_iso

        self.record_audit_head(_write_ahead(audited))
        self.table.put(New(items.CONTROLS, items.KILL_ALL, {"value": json.dumps(info), "updated_at": now_iso()},
                           condition=None))

    def clear_global_kill(self, *, audited: AuditedAction | None = None) -> bool:
        self.record_audit_head(_write_ahead(audited))
        # No DeleteItem (the IAM policy grants none): an update that drops the value, then read back.
        previous = self.table.update(Change(items.CONTROLS, items.KILL_ALL, remove=("value",)), returning="ALL_OLD")
        return "value" in previous

    # ------------------------------------------------------------- events

    def append_event(self, task_id: str, kind: str, data: dict[str, Any]) -> int:
        from runtime.store import now_iso

        pk = items.task_pk(task_id)
        counter = self.table.update(Change(pk, "events", add={"last": 1}), returning="UPDATED_NEW")
        event_id = int(counter["last"])
        self.table.put(New(pk, items.event_sk(event_id), {"kind": kind, "data": json.dumps(data, ensure_ascii=False),
                                                          "created_at": now_iso()}))
        return event_id

    def events_after(self, task_id: str, after_id: int, limit: int = 500) -> list[EventRecord]:
        found = self.table.query(items.task_pk(task_id), "event#", after=items.event_sk(after_id), limit=limit)
        return [EventRecord(id=int(v["sk"].split("#", 1)[1]), kind=v["kind"], data=json.loads(v["data"]),
                            created_at=v["created_at"]) for v in found]

    # ------------------------------------------------------------- audit head

    def _audit_head_writes(self, head: tuple[int, str] | None) -> list[Change | New]:
        """Nothing to add to a transaction: the audit log itself moves the head item (audit.py) as it appends."""
        return []

    def record_audit_head(self, head: tuple[int, str] | None) -> None:
        return None  # see _audit_head_writes

    def _now(self) -> float:
        return time.time()
