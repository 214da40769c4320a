"""The audit chain in PostgreSQL: table ``audit_log``, append-only by trigger.

Same records and hashes as the file log (runtime/audit.py): each row keeps the record's
canonical JSON exactly as hashed, so ``verify`` is the file log's check run over the rows.
Appends take a transaction-scoped advisory lock, so writers in any process or host
extend one chain. The runner's records commit on their own connection before the state
they describe (write-ahead, as with the file); an operator action (a decision, a kill)
writes its record in the action's own transaction (:func:`append_in`), so both or
neither are kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg

from runtime.audit import GENESIS, VerifyResult, chained_record, verify_lines
from runtime.canonical import canonical_json
from runtime.store_pg.sqlcompat import Cursor

_APPEND_LOCK = 0x41_55_44_54  # "AUDT"


class PgAuditLog:
    def __init__(self, conninfo: dict[str, Any]) -> None:
        self._conn = psycopg.connect(**conninfo, autocommit=True)
        self.head: tuple[int, str] | None = None

    def close(self) -> None:
        self._conn.close()

    def append(
        self, kind: str, data: dict[str, Any], *, task_id: str | None = None, agent_version: str | None = None
    ) -> tuple[int, str]:
        with self._conn.transaction():
            self.head = append_in(Cursor(self._conn.cursor()), kind, data, task_id=task_id, agent_version=agent_version)
        return self.head


def append_in(
    cur: Cursor, kind: str, data: dict[str, Any], *, task_id: str | None = None, agent_version: str | None = None
) -> tuple[int, str]:
    """Append one record inside the caller's open transaction; it commits (or rolls back) with it.
    The advisory lock, held to the end of that transaction, keeps the chain one line."""
    cur.execute("SELECT pg_advisory_xact_lock(?)", (_APPEND_LOCK,))
    row = cur.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (int(row[0]), str(row[1])) if row else (0, GENESIS)
    record = chained_record(seq, prev, kind, data, task_id=task_id, agent_version=agent_version)
    cur.execute(
        "INSERT INTO audit_log (seq, hash, record) VALUES (?, ?, ?)",
        (record["seq"], record["hash"], canonical_json(record)),
    )
    return record["seq"], record["hash"]


def _rows(conn: psycopg.Connection[Any]) -> Iterator[tuple[int, bytes]]:
    with conn.cursor(name="airlock_audit_verify") as cur:  # server-side: the log may be large
        cur.execute("SELECT record FROM audit_log ORDER BY seq")
        for number, (record,) in enumerate(cur, start=1):
            yield number, (record + "\n").encode("utf-8")


def verify(conn: psycopg.Connection[Any], recorded_head: tuple[int, str] | None) -> VerifyResult:
    """Row N is checked as line N of the file log would be; the head comes from table audit_head."""
    with conn.transaction():
        return verify_lines(_rows(conn), recorded_head, where="table audit_log")
