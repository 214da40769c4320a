"""The SQLite store's service half: the work queue and its leases, submissions, task events.

Mixed into :class:`runtime.store.Store`; the methods are those of the
:class:`runtime.store_api.StateStore` protocol, so the service and its workers never see
SQL. A queue row exists while a task needs a worker: it is *free* (no owner, or a lease
whose expiry has passed: its holder died) or *leased* (an owner and an expiry in the
future, renewed by that owner's heartbeat). Claiming is one ``BEGIN IMMEDIATE``
transaction, so two processes on one state directory can never both hold a lease.
Expiry times are wall-clock seconds (``time.time()``): processes sharing a state
directory share a clock.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from runtime.budget import Usage
from runtime.store_api import Claim, EventRecord, Submission, TaskPage

QUEUED = "queued"


class LeaseLost(Exception):
    """This worker's lease on the task ended (expired and taken over); it must not write the task."""

SERVICE_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
    task_id TEXT PRIMARY KEY REFERENCES tasks(id),
    agent_version TEXT NOT NULL,
    enqueued_at REAL NOT NULL,
    lease_owner TEXT,
    lease_expires_at REAL,
    claims INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS queue_by_version ON queue (agent_version, enqueued_at);
CREATE TABLE IF NOT EXISTS submissions (
    task_id TEXT PRIMARY KEY REFERENCES tasks(id),
    idempotency_key TEXT UNIQUE,
    request_sha256 TEXT NOT NULL,
    metadata TEXT NOT NULL,
    submitted_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_task ON events (task_id, id);
CREATE INDEX IF NOT EXISTS tasks_by_created ON tasks (created_at, id);
"""


class _StoreCore(Protocol):
    conn: sqlite3.Connection

    def transaction(self) -> AbstractContextManager[sqlite3.Cursor]: ...


def _cursor_encode(created_at: str, task_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([created_at, task_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """(created_at, task_id) from a cursor; ValueError when it is not one of ours."""
    try:
        created_at, task_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except Exception:
        raise ValueError("not a cursor returned by this API") from None
    if not isinstance(created_at, str) or not isinstance(task_id, str):
        raise ValueError("not a cursor returned by this API")
    return created_at, task_id


class QueueStoreMixin:
    """Queue, leases, submissions and events on the SQLite connection of the store."""

    fence_owner: str | None

    def _check_fence(self, cur: sqlite3.Cursor, task_id: str) -> None:
        if self.fence_owner is None:
            return
        row = cur.execute("SELECT owner FROM tasks WHERE id=?" + self.row_lock, (task_id,)).fetchone()  # type: ignore[attr-defined]
        if row is None or row[0] != self.fence_owner:
            raise LeaseLost(f"task {task_id}: lease held by {row[0] if row else None}, not {self.fence_owner}")

    # ------------------------------------------------------------- submissions

    def submit_task(self: _StoreCore, sub: Submission, *, audit_head: tuple[int, str] | None = None) -> None:
        """Create a queued task, its first checkpoint, its queue row and its submission, atomically."""
        from runtime.store import now_iso

        ts = now_iso()
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO tasks (id, agent_name, agent_version, spec_text, spec_path, spec_dir, task_text,"
                " status, owner, checkpoint_seq, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,NULL,1,?,?)",
                (sub.task_id, sub.agent_name, sub.agent_version, sub.spec_text, sub.spec_path, sub.spec_dir,
                 sub.task_text, QUEUED, ts, ts),
            )
            cur.execute(
                "INSERT INTO messages VALUES (?,?,?)",
                (sub.task_id, 0, json.dumps({"role": "user", "content": sub.task_text})),
            )
            cur.execute(
                "INSERT INTO checkpoints VALUES (?,?,?,?,?,?,?)",
                (sub.task_id, 1, ts, sub.agent_version, 1, QUEUED, json.dumps(Usage().to_json())),
            )
            cur.execute(
                "INSERT INTO submissions VALUES (?,?,?,?,?)",
                (sub.task_id, sub.idempotency_key, sub.request_sha256, json.dumps(sub.metadata), sub.submitted_by),
            )
            cur.execute(
                "INSERT INTO queue (task_id, agent_version, enqueued_at) VALUES (?,?,?)",
                (sub.task_id, sub.agent_version, time.time()),
            )
            self._advance_audit_head(cur, audit_head)  # type: ignore[attr-defined]

    def find_submission(self: _StoreCore, idempotency_key: str) -> tuple[str, str] | None:
        """(task_id, request_sha256) of an earlier submission with this key."""
        row = self.conn.execute(
            "SELECT task_id, request_sha256 FROM submissions WHERE idempotency_key=?", (idempotency_key,)
        ).fetchone()
        return (row[0], row[1]) if row else None

    def task_metadata(self: _StoreCore, task_id: str) -> dict[str, Any]:
        row = self.conn.execute("SELECT metadata FROM submissions WHERE task_id=?", (task_id,)).fetchone()
        return json.loads(row[0]) if row else {}

    def page_tasks(
        self: _StoreCore, *, status: str | None, limit: int, cursor: tuple[str, str] | None
    ) -> TaskPage:
        """Newest first; ``cursor`` continues after the last task of the previous page."""
        where, params = [], []
        if status:
            where.append("status=?")
            params.append(status)
        if cursor:
            where.append("(created_at < ? OR (created_at = ? AND id < ?))")
            params += [cursor[0], cursor[0], cursor[1]]
        sql = "SELECT id, created_at FROM tasks"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        rows = self.conn.execute(sql, (*params, limit + 1)).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = _cursor_encode(rows[-1][1], rows[-1][0]) if more and rows else None
        return TaskPage(task_ids=[r[0] for r in rows], next_cursor=next_cursor)

    def count_by_status(self: _StoreCore) -> dict[str, int]:
        return dict(self.conn.execute("SELECT status, count(*) FROM tasks GROUP BY status").fetchall())

    def count_pending_approvals(self: _StoreCore) -> int:
        return int(self.conn.execute("SELECT count(*) FROM approvals WHERE status='pending'").fetchone()[0])

    def approvals_of_task(self: _StoreCore, task_id: str) -> tuple[int, int]:
        """(approvals asked, approvals denied) for one task."""
        row = self.conn.execute(
            "SELECT count(*), coalesce(sum(status='denied'), 0) FROM approvals WHERE task_id=?", (task_id,)
        ).fetchone()
        return int(row[0]), int(row[1])

    # ------------------------------------------------------------- queue and leases

    def enqueue(self: _StoreCore, task_id: str, agent_version: str) -> None:
        """Put a task (back) on the queue, free; a no-op when it is there already."""
        from runtime.store import now_iso

        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO queue (task_id, agent_version, enqueued_at) VALUES (?,?,?) ON CONFLICT(task_id) DO NOTHING",
                (task_id, agent_version, time.time()),
            )
            cur.execute("UPDATE tasks SET status=?, owner=NULL, updated_at=? WHERE id=?", (QUEUED, now_iso(), task_id))

    def queue_depth(self: _StoreCore) -> int:
        return int(self.conn.execute("SELECT count(*) FROM queue WHERE lease_owner IS NULL").fetchone()[0])

    def claim_next(self: _StoreCore, owner: str, agent_version: str, lease_seconds: float) -> Claim | None:
        """Lease the oldest free task of this agent version, or None."""
        from runtime.store import RUNNING, now_iso

        now = time.time()
        with self.transaction() as cur:
            # Only tasks that still need a worker (a task ended meanwhile by other means is skipped).
            row = cur.execute(
                "SELECT q.task_id, q.lease_owner FROM queue q JOIN tasks t ON t.id = q.task_id"
                " WHERE q.agent_version=? AND (q.lease_owner IS NULL OR q.lease_expires_at < ?)"
                " AND t.status IN ('queued', 'running')"
                # Read in the same transaction as the claim: no task starts once the switch is on.
                " AND NOT EXISTS (SELECT 1 FROM controls WHERE name='kill_all')"
                " ORDER BY q.enqueued_at LIMIT 1",
                (agent_version, now),
            ).fetchone()
            if row is None:
                return None
            task_id, previous = row
            cur.execute(
                "UPDATE queue SET lease_owner=?, lease_expires_at=?, claims=claims+1 WHERE task_id=?",
                (owner, now + lease_seconds, task_id),
            )
            cur.execute("UPDATE tasks SET status=?, owner=?, updated_at=? WHERE id=?", (RUNNING, owner, now_iso(), task_id))
        return Claim(task_id=task_id, expired_owner=previous)

    def renew_leases(self: _StoreCore, owner: str, task_ids: Sequence[str], lease_seconds: float) -> set[str]:
        """Extend this owner's leases; returns the task ids it still holds (a lost one is not renewed)."""
        if not task_ids:
            return set()
        now = time.time()
        held = set()
        with self.transaction() as cur:
            for task_id in task_ids:
                updated = cur.execute(
                    "UPDATE queue SET lease_expires_at=? WHERE task_id=? AND lease_owner=? AND lease_expires_at>=?",
                    (now + lease_seconds, task_id, owner, now),
                ).rowcount
                if updated:
                    held.add(task_id)
        return held

    def release_lease(self: _StoreCore, task_id: str, owner: str, *, done: bool) -> bool:
        """End this owner's lease: ``done`` removes the task from the queue, else it is free again (queued)."""
        from runtime.store import now_iso

        with self.transaction() as cur:
            if done:
                return cur.execute("DELETE FROM queue WHERE task_id=? AND lease_owner=?", (task_id, owner)).rowcount == 1
            released = cur.execute(
                "UPDATE queue SET lease_owner=NULL, lease_expires_at=NULL WHERE task_id=? AND lease_owner=?",
                (task_id, owner),
            ).rowcount == 1
            if released:
                cur.execute(
                    "UPDATE tasks SET status=?, owner=NULL, updated_at=? WHERE id=?", (QUEUED, now_iso(), task_id)
                )
            return released

    def withdraw(self: _StoreCore, task_id: str) -> bool:
        """Take a task off the queue if no live lease holds it (cancel before it runs)."""
        with self.transaction() as cur:
            return cur.execute(
                "DELETE FROM queue WHERE task_id=? AND (lease_owner IS NULL OR lease_expires_at < ?)",
                (task_id, time.time()),
            ).rowcount == 1

    def lease_of(self: _StoreCore, task_id: str) -> tuple[str | None, float | None] | None:
        row = self.conn.execute(
            "SELECT lease_owner, lease_expires_at FROM queue WHERE task_id=?", (task_id,)
        ).fetchone()
        return (row[0], row[1]) if row else None

    # ------------------------------------------------------------- events

    def append_event(self: _StoreCore, task_id: str, kind: str, data: dict[str, Any]) -> int:
        from runtime.store import now_iso

        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO events (task_id, kind, data, created_at) VALUES (?,?,?,?)",
                (task_id, kind, json.dumps(data, ensure_ascii=False), now_iso()),
            )
            return int(cur.lastrowid or 0)

    def events_after(self: _StoreCore, task_id: str, after_id: int, limit: int = 500) -> list[EventRecord]:
        rows = self.conn.execute(
            "SELECT id, kind, data, created_at FROM events WHERE task_id=? AND id>? ORDER BY id LIMIT ?",
            (task_id, after_id, limit),
        ).fetchall()
        return [EventRecord(id=r[0], kind=r[1], data=json.loads(r[2]), created_at=r[3]) for r in rows]


def iter_statements(script: str) -> Iterator[str]:
    for statement in script.split(";"):
        if statement.strip():
            yield statement
