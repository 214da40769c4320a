"""The SQL stores' approvals: the ``approvals`` table behind the StateStore protocol.

Mixed into :class:`runtime.store.Store` (and so :class:`runtime.store_pg.store.PostgresStore`,
which runs the same SQL), so :mod:`runtime.approvals`, the runner and the CLI ask the store,
never its connection.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from runtime.errors import BadInput, UnknownApproval

if TYPE_CHECKING:
    from runtime.approvals import ApprovalRecord

_COLUMNS = "payload, status, decided_at, decided_by, decision_reason, notify_status"


class _SqlCore(Protocol):
    conn: sqlite3.Connection
    row_lock: str

    def transaction(self) -> AbstractContextManager[sqlite3.Cursor]: ...
    def approval(self, approval_id: str) -> ApprovalRecord | None: ...
    def append_audit(
        self, cur: sqlite3.Cursor, audit: Any, kind: str, data: dict[str, Any], *,
        task_id: str | None = None, agent_version: str | None = None,
    ) -> None: ...


def _record(row: tuple[Any, ...]) -> ApprovalRecord:
    from runtime.approvals import ApprovalRecord, ApprovalRequest

    return ApprovalRecord(
        request=ApprovalRequest(**json.loads(row[0])),
        status=row[1],
        decided_at=row[2],
        decided_by=row[3],
        decision_reason=row[4],
        notify_status=row[5],
    )


def _records(rows: Iterator[tuple[Any, ...]] | list[tuple[Any, ...]]) -> list[ApprovalRecord]:
    return [_record(r) for r in rows]


class ApprovalStoreMixin:
    def approval(self: _SqlCore, approval_id: str) -> ApprovalRecord | None:
        row = self.conn.execute(f"SELECT {_COLUMNS} FROM approvals WHERE id=?", (approval_id,)).fetchone()
        return _record(row) if row else None

    def approval_for_call(self: _SqlCore, task_id: str, tool_call_id: str) -> ApprovalRecord | None:
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM approvals WHERE task_id=? AND tool_call_id=?", (task_id, tool_call_id)
        ).fetchone()
        return _record(row) if row else None

    def pending_approval(self: _SqlCore, task_id: str) -> ApprovalRecord | None:
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM approvals WHERE task_id=? AND status='pending' ORDER BY requested_at LIMIT 1",
            (task_id,),
        ).fetchone()
        return _record(row) if row else None

    def list_approvals(self: _SqlCore, *, include_decided: bool = False) -> list[ApprovalRecord]:
        where = "" if include_decided else " WHERE status='pending'"
        return _records(self.conn.execute(f"SELECT {_COLUMNS} FROM approvals{where} ORDER BY requested_at").fetchall())

    def record_notify_status(self: _SqlCore, approval_id: str, status: str) -> None:
        with self.transaction() as cur:
            cur.execute("UPDATE approvals SET notify_status=? WHERE id=?", (status, approval_id))

    def decide_approval(
        self: _SqlCore,
        approval_id: str,
        *,
        approve: bool,
        by: str,
        reason: str | None,
        requeue_version: str | None,
        audit: Any | None = None,
    ) -> ApprovalRecord:
        """Record a decision, atomically with: with ``requeue_version``, putting the parked task
        back on the queue; with ``audit`` (an audit log), the decision's audit record (if the
        record cannot be written, the approval stays pending)."""
        from runtime.approvals import ApprovalRequest, decision_record
        from runtime.store import WAITING_APPROVAL, now_iso
        from runtime.store_queue import QUEUED

        ts = now_iso()
        status = "approved" if approve else "denied"
        with self.transaction() as cur:
            row = cur.execute(
                "SELECT status, decided_at, task_id, payload FROM approvals WHERE id=?" + self.row_lock, (approval_id,)
            ).fetchone()
            if row is None:
                raise UnknownApproval(approval_id)
            if row[0] != "pending":
                raise BadInput(f"approval {approval_id!r} was already decided ({row[0]} at {row[1]}); decisions are final")
            cur.execute(
                "UPDATE approvals SET status=?, decided_at=?, decided_by=?, decision_reason=? WHERE id=?",
                (status, ts, by, reason, approval_id),
            )
            if requeue_version is not None:
                updated = cur.execute(
                    "UPDATE tasks SET status=?, owner=NULL, updated_at=? WHERE id=? AND status=?",
                    (QUEUED, ts, row[2], WAITING_APPROVAL),
                ).rowcount
                if updated:
                    cur.execute(
                        "INSERT INTO queue (task_id, agent_version, enqueued_at) VALUES (?,?,?)"
                        " ON CONFLICT(task_id) DO NOTHING",
                        (row[2], requeue_version, time.time()),
                    )
            if audit is not None:
                request = ApprovalRequest(**json.loads(row[3]))
                kind, data = decision_record(request, status=status, by=by, reason=reason)
                self.append_audit(
                    cur, audit, kind, data, task_id=request.task_id,
                    agent_version=request.requested_by.get("agent_version"),
                )
        record = self.approval(approval_id)
        assert record is not None
        return record
