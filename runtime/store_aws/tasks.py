"""Tasks, messages, checkpoints and the ledger on DynamoDB: the runner's side of the store.

A checkpoint is one TransactWriteItems: the new messages, the checkpoint item, the task
row, the ledger rows, an approval and the audit head, all or nothing, as one SQL
transaction is on the other stores. With ``fence_owner`` set (a service worker holding the
task's lease) the task row's update is conditional on that owner, so a worker whose lease
was taken over cannot write the task again (its checkpoint is refused: LeaseLost).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from runtime.budget import Usage
from runtime.errors import StateUnusable, TaskBusy, UnknownTask
from runtime.store_aws import items
from runtime.store_aws.errors import cancellation_reasons, is_condition_failed
from runtime.store_aws.table import Change, New

if TYPE_CHECKING:
    from runtime.ledger import LedgerEntry
    from runtime.store import TaskRow, TaskState
    from runtime.store_aws.store import AwsStoreBase

    _Base = AwsStoreBase
else:
    _Base = object

_ROW_FIELDS = (
    "agent_name", "agent_version", "spec_text", "spec_path", "spec_dir", "task_text", "status", "output", "error",
    "owner", "kill_requested", "checkpoint_seq", "created_at", "updated_at",
)


def task_row(values: dict[str, Any], output: str | None) -> TaskRow:
    from runtime.store import TaskRow

    row: dict[str, Any] = {name: values.get(name) for name in _ROW_FIELDS}
    row["output"] = output
    row["kill_requested"] = bool(row["kill_requested"])
    row["checkpoint_seq"] = int(row["checkpoint_seq"] or 0)
    return TaskRow(id=values["sk"], **row)


class TaskItemsMixin(_Base):
    # ------------------------------------------------------------- writing a new task

    def _new_task_writes(
        self, *, task_id: str, row: dict[str, Any], first_message: dict[str, Any], usage: Usage, status: str, ts: str
    ) -> list[Change | New]:
        pk = items.task_pk(task_id)
        return [
            New(items.TASKS, task_id, {**row, "status": status, "checkpoint_seq": 1, "kill_requested": False,
                                       "created_at": ts, "updated_at": ts}),
            New(pk, items.msg_sk(0), self.payloads.attributes(f"tasks/{task_id}/messages/00000000", json.dumps(first_message))),
            New(pk, items.ckpt_sk(1), {"created_at": ts, "agent_version": row["agent_version"], "n_messages": 1,
                                       "status": status, "usage": json.dumps(usage.to_json())}),
        ]

    def create_task(
        self,
        *,
        task_id: str,
        agent_name: str,
        agent_version: str,
        spec_text: str,
        spec_path: str | None,
        spec_dir: str,
        task_text: str,
        first_message: dict[str, Any],
        usage: Usage,
        owner: str,
        audit_head: tuple[int, str] | None = None,
    ) -> None:
        from runtime.store import RUNNING, now_iso

        row = {"agent_name": agent_name, "agent_version": agent_version, "spec_text": spec_text, "spec_path": spec_path,
               "spec_dir": spec_dir, "task_text": task_text, "owner": owner}
        writes = self._new_task_writes(task_id=task_id, row=row, first_message=first_message, usage=usage,
                                       status=RUNNING, ts=now_iso())
        self.table.transact(writes + self._audit_head_writes(audit_head))

    # ------------------------------------------------------------- reading

    def get_task(self, task_id: str) -> TaskRow | None:
        values = self.table.get(items.TASKS, task_id)
        return task_row(values, self.payloads.text(values, "output")) if values else None

    def _task_items(self) -> list[dict[str, Any]]:
        return list(self.table.query(items.TASKS))

    def list_tasks(self) -> list[TaskRow]:
        ordered = sorted(self._task_items(), key=lambda v: (v["created_at"], v["sk"]))
        return [task_row(v, self.payloads.text(v, "output")) for v in ordered]

    def load_state(self, task_id: str) -> TaskState:
        from runtime.store import TaskState

        pk = items.task_pk(task_id)
        latest = next(self.table.query(pk, "ckpt#", newest_first=True, limit=1), None)
        if latest is None:
            raise UnknownTask(task_id)
        n_messages = int(latest["n_messages"])
        messages = []
        for index, values in enumerate(self.table.query(pk, "msg#")):
            if index >= n_messages:
                break
            if values["sk"] != items.msg_sk(index):
                raise StateUnusable(f"AIRLOCK_CHECKPOINT_TABLE: task {task_id} is missing message {index}")
            text = self.payloads.text(values)
            assert text is not None
            messages.append(json.loads(text))
        if len(messages) != n_messages:
            raise StateUnusable(f"AIRLOCK_CHECKPOINT_TABLE: task {task_id} has {len(messages)} of {n_messages} messages")
        return TaskState(messages=messages, usage=Usage.from_json(json.loads(latest["usage"])),
                         checkpoint_seq=int(latest["sk"].split("#", 1)[1]))

    def ledger_entry(self, task_id: str, tool_call_id: str) -> LedgerEntry | None:
        from runtime.ledger import LedgerEntry

        values = self.table.get(items.task_pk(task_id), items.ledger_sk(tool_call_id))
        if values is None:
            return None
        return LedgerEntry(
            tool_call_id, values["idempotency_key"], values["tool"], values["arguments_sha256"],
            values["status"] == "done", self.payloads.text(values, "result"), bool(values.get("is_error")),
        )

    # ------------------------------------------------------------- the runner's writes

    def claim(self, task_id: str, owner: str) -> TaskRow:
        """Make this process the task's runner; refuse if another live process runs it."""
        from runtime.store import RUNNING, now_iso, owner_alive

        task = self.get_task(task_id)
        if task is None:
            raise UnknownTask(task_id)
        if task.status == RUNNING and task.owner and task.owner != owner and owner_alive(task.owner):
            pid = task.owner.split(":")[1] if task.owner.count(":") >= 1 else task.owner
            raise TaskBusy(f"task {task_id!r} is already running in process {pid}; wait for it or kill it first")
        # Conditional on the owner we just saw: two processes resuming at once cannot both win.
        condition = "attribute_not_exists(#owner) OR #owner = :seen" if task.owner else "attribute_not_exists(#owner) OR attribute_type(#owner, :null)"
        try:
            self.table.update(Change(
                items.TASKS, task_id,
                set={"owner": owner, "status": RUNNING, "kill_requested": False, "updated_at": now_iso()},
                condition=condition,
                values={"seen": task.owner} if task.owner else {"null": "NULL"},
            ))
        except ClientError as exc:
            if is_condition_failed(exc):
                raise TaskBusy(f"task {task_id!r} was claimed by another process just now; wait for it or kill it first") from None
            raise
        claimed = self.get_task(task_id)
        assert claimed is not None
        return claimed

    def checkpoint(
        self,
        task_id: str,
        *,
        agent_version: str,
        state: TaskState,
        new_messages: Sequence[dict[str, Any]] = (),
        status: str = "running",
        output: str | None = None,
        error: str | None = None,
        intents: Sequence[tuple[str, str, str]] = (),
        result: tuple[str, str, bool] | None = None,
        approval: dict[str, Any] | None = None,
        audit_head: tuple[int, str] | None = None,
        release: bool = False,
    ) -> None:
        """Append messages and write one checkpoint, atomically, with its ledger rows (see the module doc)."""
        from runtime import ledger
        from runtime.store import now_iso
        from runtime.store_queue import LeaseLost

        ts = now_iso()
        pk = items.task_pk(task_id)
        base = len(state.messages)
        seq = state.checkpoint_seq + 1
        # A final answer too big for the row goes to the payload bucket like a message.
        stored_output = {"output": None} if output is None else self.payloads.attributes(f"tasks/{task_id}/output", output, "output")
        task_change = Change(
            items.TASKS, task_id,
            set={**stored_output, "status": status, "error": error, "checkpoint_seq": seq, "updated_at": ts},
            remove=(("owner",) if release else ()) + (() if "output" in stored_output else ("output",)),
            condition="#owner = :fence" if self.fence_owner is not None else "attribute_exists(#pk)",
            values={"fence": self.fence_owner} if self.fence_owner is not None else {},
        )
        writes: list[Change | New] = [task_change]
        for i, message in enumerate(new_messages):
            where = f"tasks/{task_id}/messages/{base + i:08d}"
            writes.append(New(pk, items.msg_sk(base + i), self.payloads.attributes(where, json.dumps(message))))
        writes.append(New(pk, items.ckpt_sk(seq), {"created_at": ts, "agent_version": agent_version,
                                                   "n_messages": base + len(new_messages), "status": status,
                                                   "usage": json.dumps(state.usage.to_json())}))
        intent_writes = [
            New(pk, items.ledger_sk(call_id), {"idempotency_key": ledger.idempotency_key(task_id, call_id), "tool": tool,
                                               "arguments_sha256": args_sha, "status": "intent", "intent_at": ts})
            for call_id, tool, args_sha in intents
        ]
        writes += intent_writes
        if result is not None:
            call_id, text, is_error = result
            stored = self.payloads.attributes(f"tasks/{task_id}/ledger/{call_id}", text, "result")
            writes.append(Change(pk, items.ledger_sk(call_id), set={**stored, "is_error": is_error, "status": "done",
                                                                    "result_at": ts},
                                 condition="#status = :intent", values={"intent": "intent"}))
        if approval is not None:
            writes.append(New(items.APPROVALS, approval["id"], {
                "task_id": task_id, "tool_call_id": approval["tool_call_id"], "status": "pending",
                "payload": json.dumps(approval), "requested_at": ts}))
            writes.append(New(pk, items.approval_ref_sk(approval["tool_call_id"]), {"approval_id": approval["id"]}))
        writes += self._audit_head_writes(audit_head)
        self._commit_checkpoint(task_id, writes, intent_writes, result, LeaseLost)
        state.messages.extend(new_messages)
        state.checkpoint_seq = seq

    def _commit_checkpoint(
        self, task_id: str, writes: list[Change | New], intents: list[New], result: Any, lease_lost: type[Exception]
    ) -> None:
        for _ in range(3):
            try:
                self.table.transact(writes)
                return
            except ClientError as exc:
                reasons = cancellation_reasons(exc)
                if not reasons:
                    raise
            failed = {i for i, code in enumerate(reasons) if code not in ("None", "")}
            if 0 in failed and self.fence_owner is not None:
                raise lease_lost(f"task {task_id}: lease no longer held by {self.fence_owner}")
            if 0 in failed:
                raise UnknownTask(task_id)
            if any(code == "ConditionalCheckFailed" for code in reasons) and failed <= {writes.index(w) for w in intents}:
                # The intent is there already (a retried call): keep the original row, like ON CONFLICT DO NOTHING.
                writes = [w for w in writes if w not in intents]
                intents = []
                continue
            if result is not None:
                raise RuntimeError(f"ledger: no open intent for task {task_id} call {result[0]} (or a write conflicted: {reasons})")
            raise StateUnusable(f"AIRLOCK_CHECKPOINT_TABLE: checkpoint of task {task_id} refused: {reasons}")
        raise StateUnusable(f"AIRLOCK_CHECKPOINT_TABLE: checkpoint of task {task_id} kept conflicting")
