"""The PostgreSQL implementation of :class:`runtime.store_api.StateStore`.

It is the SQLite store's logic (runtime/store.py, runtime/store_queue.py) on a psycopg
connection: the same queries through :mod:`runtime.store_pg.sqlcompat`, with row locks
(``FOR UPDATE``) where SQLite relies on its single writer, leases taken with
``FOR UPDATE SKIP LOCKED`` so concurrent workers never wait on each other's claim, event
ids from a sequence, and the audit chain in the append-only ``audit_log`` table. Every
write is one transaction, committed (durably: ``synchronous_commit`` is the server's
default, on) before the call returns, so the ledger's intent-before-call rule holds.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from runtime.audit import VerifyResult
from runtime.errors import BadInput, StateUnusable
from runtime.store import RUNNING, Store, now_iso
from runtime.store_api import Claim
from runtime.store_pg import migrate
from runtime.store_pg.audit import PgAuditLog, append_in, verify
from runtime.store_pg.secret_history import PgSecretHistory
from psycopg.conninfo import make_conninfo

from runtime.store_pg.sqlcompat import Connection, Cursor
from runtime.store_pg.url import PgTarget, parse_url

QUEUE_CHANNEL = "airlock_queue"


def connect(target: PgTarget, **extra: Any) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(make_conninfo("", **target.conninfo()), autocommit=True, **extra)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise BadInput(f"AIRLOCK_STORE: cannot connect to {target.display}: {reason}") from None


class PostgresStore(Store):
    row_lock = " FOR UPDATE"
    _listener: psycopg.Connection[Any] | None = None

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.target = parse_url(url)
        self.url = url
        # Nothing is kept on local disk; state_dir names the store in messages and is a scratch place.
        self.state_dir = Path(tempfile.gettempdir())
        self.fence_owner: str | None = None
        raw = connect(self.target)
        self.conn = Connection(raw)  # type: ignore[assignment]
        try:
            if not create and raw.execute("SELECT to_regclass('schema_migrations')").fetchone() == (None,):
                raise BadInput(
                    f"AIRLOCK_STORE: {self.target.display} holds no Airlock state yet (no schema_migrations table); "
                    "`airlock-runtime run` or `serve` creates it"
                )
            migrate.migrate(raw, self.target.display)
        except BaseException:
            raw.close()
            raise

    def close(self) -> None:
        listener = getattr(self, "_listener", None)
        if listener is not None:
            listener.close()
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:  # type: ignore[override]
        raw = self.conn.raw  # type: ignore[attr-defined]
        with raw.transaction():
            cur = Cursor(raw.cursor())
            try:
                yield cur
            finally:
                cur.close()

    # ------------------------------------------------------------- differences from SQLite

    def claim_next(self, owner: str, agent_version: str, lease_seconds: float) -> Claim | None:
        """Lease the oldest free task; SKIP LOCKED lets concurrent claimers pass each other."""
        now = time.time()
        with self.transaction() as cur:
            row = cur.execute(
                "SELECT q.task_id, q.lease_owner FROM queue q JOIN tasks t ON t.id = q.task_id"
                " WHERE q.agent_version=? AND (q.lease_owner IS NULL OR q.lease_expires_at < ?)"
                " AND t.status IN ('queued', 'running')"
                # Read in the same transaction as the claim: no task starts once the switch is on.
                " AND NOT EXISTS (SELECT 1 FROM controls WHERE name='kill_all')"
                " ORDER BY q.enqueued_at LIMIT 1"
                " FOR UPDATE OF q SKIP LOCKED",
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

    def append_event(self, task_id: str, kind: str, data: dict[str, Any]) -> int:
        with self.transaction() as cur:
            row = cur.execute(
                "INSERT INTO events (task_id, kind, data, created_at) VALUES (?,?,?,?) RETURNING id",
                (task_id, kind, json.dumps(data, ensure_ascii=False), now_iso()),
            ).fetchone()
        return int(row[0]) if row else 0

    def approvals_of_task(self, task_id: str) -> tuple[int, int]:
        row = self.conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE status='denied') FROM approvals WHERE task_id=?", (task_id,)
        ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    def append_audit(  # type: ignore[override]
        self,
        cur: Cursor,
        audit: Any,
        kind: str,
        data: dict[str, Any],
        *,
        task_id: str | None = None,
        agent_version: str | None = None,
    ) -> None:
        """The record is a row of the same database: written in the caller's transaction, so an
        operator action and its audit record commit together or not at all (``audit`` unused)."""
        try:
            head = append_in(cur, kind, data, task_id=task_id, agent_version=agent_version)
        except psycopg.Error as exc:  # the transaction rolls back with the action it records
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StateUnusable(f"cannot write the audit log (table audit_log in {self.target.display}): {reason}") from None
        self._advance_audit_head(cur, head)  # type: ignore[arg-type]  # the sqlite3-compatible cursor

    def secret_history(self) -> PgSecretHistory:
        return PgSecretHistory(self)

    def open_audit(self) -> PgAuditLog:  # type: ignore[override]
        return PgAuditLog(self.target.conninfo())

    def verify_audit(self) -> VerifyResult:
        return verify(self.conn.raw, self.audit_head())  # type: ignore[attr-defined]

    def wait_for_work(self, timeout: float) -> bool:
        """Block until a free queue row is announced (LISTEN/NOTIFY) or ``timeout`` passes."""
        listener = getattr(self, "_listener", None)
        if listener is None:
            listener = connect(self.target)
            listener.execute(f"LISTEN {QUEUE_CHANNEL}")
            self._listener = listener
        try:
            for _ in listener.notifies(timeout=timeout, stop_after=1):
                return True
        except psycopg.OperationalError:
            self._listener = None  # the connection broke: listen again on the next call
            listener.close()
            raise
        return False
