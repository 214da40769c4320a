"""The audit chain in PostgreSQL: table ``audit_log``, append-only by trigger.

Same records and hashes as the file log (runtime/audit.py): each row keeps the record's
canonical JSON exactly as hashed, so ``verify`` is the file log's check run over the rows.
Appends take a transaction-scoped advisory lock, so writers in any process or host
extend one chain; each append commits on its own connection before the state it
describes (write-ahead, as with the file).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg

from runtime.audit import GENESIS, VerifyResult, record_hash, verify_lines
from runtime.canonical import canonical_json
from runtime.store import now_iso

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
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_APPEND_LOCK,))
            row = self._conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (int(row[0]), str(row[1])) if row else (0, GENESIS)
            record: dict[str, Any] = {
                "seq": seq + 1,
                "ts": now_iso(),
                "task_id": task_id,
                "agent_version": agent_version,
                "kind": kind,
                "data": data,
                "prev_hash": prev,
            }
            record["hash"] = record_hash(record)
            self._conn.execute(
                "INSERT INTO audit_log (seq, hash, record) VALUES (%s, %s, %s)",
                (record["seq"], record["hash"], canonical_json(record)),
            )
        self.head = (record["seq"], record["hash"])
        return self.head


def _rows(conn: psycopg.Connection[Any]) -> Iterator[tuple[int, bytes]]:
    with conn.cursor(name="airlock_audit_verify") as cur:  # server-side: the log may be large
        cur.execute("SELECT record FROM audit_log ORDER BY seq")
        for number, (record,) in enumerate(cur, start=1):
            yield number, (record + "\n").encode("utf-8")


def verify(conn: psycopg.Connection[Any], recorded_head: tuple[int, str] | None) -> VerifyResult:
    """Row N is checked as line N of the file log would be; the head comes from table audit_head."""
    with conn.transaction():
        return verify_lines(_rows(conn), recorded_head, where="table audit_log")
