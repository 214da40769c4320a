"""The idempotency ledger: exactly-once tool side effects across crashes and resumes.

Key = task id + tool call id. The intent row is committed *before* the tool runs, the
result row in the same transaction as the checkpoint that hands the result to the
model. After a crash, a call with an intent but no result is executed again with the
same ``idempotency_key``, so the tool (or the API behind it) can recognise the retry;
a call with a recorded result is never executed again.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from runtime.canonical import sha256_hex


def idempotency_key(task_id: str, tool_call_id: str) -> str:
    """Stable across retries and resumes; opaque, fixed length, safe in HTTP headers."""
    return "idem_" + sha256_hex(f"{task_id}\x00{tool_call_id}")[:40]


@dataclass(frozen=True)
class LedgerEntry:
    tool_call_id: str
    idempotency_key: str
    tool: str
    arguments_sha256: str
    done: bool
    result: str | None
    is_error: bool


def lookup(conn: sqlite3.Connection, task_id: str, tool_call_id: str) -> LedgerEntry | None:
    row = conn.execute(
        "SELECT tool_call_id, idempotency_key, tool, arguments_sha256, status, result, is_error"
        " FROM ledger WHERE task_id=? AND tool_call_id=?",
        (task_id, tool_call_id),
    ).fetchone()
    if row is None:
        return None
    return LedgerEntry(row[0], row[1], row[2], row[3], row[4] == "done", row[5], bool(row[6]))


def write_intent(
    cur: sqlite3.Cursor, task_id: str, tool_call_id: str, tool: str, arguments_sha256: str, ts: str
) -> None:
    # DO NOTHING: re-recording the intent of a retried call must keep the original row.
    cur.execute(
        "INSERT INTO ledger (task_id, tool_call_id, idempotency_key, tool, arguments_sha256, status, intent_at)"
        " VALUES (?,?,?,?,?,'intent',?) ON CONFLICT DO NOTHING",
        (task_id, tool_call_id, idempotency_key(task_id, tool_call_id), tool, arguments_sha256, ts),
    )


def write_result(cur: sqlite3.Cursor, task_id: str, tool_call_id: str, result: str, is_error: bool, ts: str) -> None:
    updated = cur.execute(
        "UPDATE ledger SET status='done', result=?, is_error=?, result_at=? WHERE task_id=? AND tool_call_id=?"
        " AND status='intent'",
        (result, int(is_error), ts, task_id, tool_call_id),
    ).rowcount
    if updated != 1:
        raise RuntimeError(f"ledger: no open intent for task {task_id} call {tool_call_id}")
