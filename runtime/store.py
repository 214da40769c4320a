"""Embedded state: one SQLite database under the state directory.

WAL journal + ``synchronous=FULL`` + one ``BEGIN IMMEDIATE`` transaction per checkpoint:
a process killed at any instant leaves either the previous or the next checkpoint,
never half of one, and a committed intent survives even a power cut (the ledger's
promise depends on it).

The conversation is stored append-only (``messages``); a checkpoint is a small row
saying how many messages belong to it plus the usage counters at that point. So every
checkpoint of a task's history can be rebuilt, and writing one costs O(new messages).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.budget import Usage
from runtime.errors import BadInput, StateUnusable, TaskBusy, UnknownTask
from runtime.store_api import AuditedAction
from runtime.store_approvals import ApprovalStoreMixin
from runtime.store_queue import QUEUED, SERVICE_SCHEMA, QueueStoreMixin, iter_statements

if TYPE_CHECKING:
    from runtime.ledger import LedgerEntry
    from runtime.audit import AuditLog, VerifyResult
    from runtime.secret_history import SecretHistory

DB_NAME = "airlock.db"
SCHEMA_VERSION = 1

# Task statuses. RUNNING is internal (a live process owns the task, or one crashed);
# the others are the designed end or pause states reported to users.
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
BUDGET_EXCEEDED = "budget_exceeded"
WAITING_APPROVAL = "waiting_approval"
KILLED = "killed"
# QUEUED (runtime/store_queue.py): accepted by the service, waiting for a worker's lease.
STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, BUDGET_EXCEEDED, WAITING_APPROVAL, KILLED)
FINAL = frozenset({SUCCEEDED, BUDGET_EXCEEDED})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    agent_name TEXT NOT NULL,
    agent_version TEXT NOT NULL,
    spec_text TEXT NOT NULL,
    spec_path TEXT,
    spec_dir TEXT NOT NULL,
    task_text TEXT NOT NULL,
    status TEXT NOT NULL,
    output TEXT,
    error TEXT,
    owner TEXT,
    kill_requested INTEGER NOT NULL DEFAULT 0,
    checkpoint_seq INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    task_id TEXT NOT NULL REFERENCES tasks(id),
    idx INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (task_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
    task_id TEXT NOT NULL REFERENCES tasks(id),
    seq INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    agent_version TEXT NOT NULL,
    n_messages INTEGER NOT NULL,
    status TEXT NOT NULL,
    usage TEXT NOT NULL,
    PRIMARY KEY (task_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ledger (
    task_id TEXT NOT NULL REFERENCES tasks(id),
    tool_call_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    tool TEXT NOT NULL,
    arguments_sha256 TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('intent', 'done')),
    result TEXT,
    is_error INTEGER,
    intent_at TEXT NOT NULL,
    result_at TEXT,
    PRIMARY KEY (task_id, tool_call_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS approvals (
    id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL REFERENCES tasks(id),
    tool_call_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
    payload TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    decided_at TEXT,
    decided_by TEXT,
    decision_reason TEXT,
    notify_status TEXT,
    UNIQUE (task_id, tool_call_id)
);
CREATE TABLE IF NOT EXISTS controls (name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
"""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# ----------------------------------------------------------------- process identity


def _start_ticks(pid: int) -> str:
    """Process start time from /proc (guards against PID reuse); empty where unavailable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def current_owner() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}"


def owner_alive(owner: str | None) -> bool:
    """Is the process that claimed a task still running (on this host)?"""
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid_text, _, ticks = rest.partition(":")
    ticks = ticks.split("/", 1)[0]  # a service worker's lease owner is "<process>/<worker>"
    if host != socket.gethostname():
        return True  # another host: we cannot tell, so assume it is alive (safe side)
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if pid == os.getpid():
        return False  # we are a new process; a claim under our pid is a stale one
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return not ticks or _start_ticks(pid) == ticks


# ----------------------------------------------------------------- rows


@dataclass(frozen=True)
class TaskRow:
    id: str
    agent_name: str
    agent_version: str
    spec_text: str
    spec_path: str | None
    spec_dir: str
    task_text: str
    status: str
    output: str | None
    error: str | None
    owner: str | None
    kill_requested: bool
    checkpoint_seq: int
    created_at: str
    updated_at: str


@dataclass
class TaskState:
    """What a runner needs to continue a task: the conversation and the counters."""

    messages: list[dict[str, Any]]
    usage: Usage
    checkpoint_seq: int


_SQLITE_HEADER = b"SQLite format 3\x00"
# Open stores per database file in this process: the header check runs only while none is
# open, since only an open connection can hold the POSIX locks a close() would drop.
_OPEN_IN_THIS_PROCESS: dict[str, int] = {}
_OPEN_LOCK = threading.Lock()


def _check_state_dir(state_dir: Path, path: Path) -> bool:
    """Refuse a damaged state directory instead of starting afresh (which would lose every
    task and approval). Returns whether the database already existed."""
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise StateUnusable(f"--state: {str(path)!r} is not a regular file")
    if not path.exists():
        audit_log = state_dir / "audit" / "audit.jsonl"
        if audit_log.is_file() and audit_log.stat().st_size > 0:
            raise StateUnusable(
                f"--state: {str(state_dir)!r} has an audit log but no {DB_NAME}: the database was removed; "
                "restore it from a backup (a fresh start would lose every task and approval)"
            )
        return False
    try:
        with open(path, "rb") as fh:
            header = fh.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise StateUnusable(f"--state: cannot read {str(path)!r}: {exc.strerror}") from None
    if not header:
        raise StateUnusable(
            f"--state: {str(path)!r} is empty (0 bytes): the state database was truncated; restore it from a "
            "backup, or move it away to start a new state directory on purpose"
        )
    if header != _SQLITE_HEADER:
        raise StateUnusable(f"--state: {str(path)!r} is not an SQLite database (damaged or overwritten)")
    return True


def _create_database(path: Path) -> None:
    """Make the database under a temporary name and link it into place, so that nobody ever
    sees a half-made (zero-byte) airlock.db, which :func:`_check_state_dir` refuses."""
    fresh = path.with_name(f".{path.name}.{os.getpid()}.new")
    try:
        conn = sqlite3.connect(fresh, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            conn.execute("COMMIT")
        finally:
            conn.close()
        try:
            os.link(fresh, path)
        except FileExistsError:
            pass  # another process made it first; use theirs
    finally:
        for leftover in (fresh, fresh.with_name(fresh.name + "-wal"), fresh.with_name(fresh.name + "-shm")):
            leftover.unlink(missing_ok=True)


def _check_airlock_database(conn: sqlite3.Connection, path: Path) -> None:
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        version = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() if "meta" in tables else None
    except sqlite3.Error as exc:
        raise StateUnusable(f"--state: {str(path)!r} is damaged: {exc}") from None
    missing = {"meta", "tasks", "messages", "checkpoints", "ledger", "approvals"} - tables
    if version is None or missing:
        raise StateUnusable(
            f"--state: {str(path)!r} is not an Airlock state database"
            + (f" (tables missing: {', '.join(sorted(missing))})" if missing else " (no schema version)")
        )


class Store(ApprovalStoreMixin, QueueStoreMixin):
    """The SQLite implementation of :class:`runtime.store_api.StateStore`."""

    # Appended to a read that a transaction then writes on. SQLite's BEGIN IMMEDIATE already
    # serialises writers; a backend with row locks (PostgreSQL) sets " FOR UPDATE".
    row_lock = ""

    def __init__(self, state_dir: Path, *, create: bool) -> None:
        self.state_dir = state_dir
        # Set by a service worker while it runs a leased task: checkpoints then commit only
        # while the task is still this worker's (a process that lost its lease cannot write).
        self.fence_owner: str | None = None
        path = state_dir / DB_NAME
        if not create and not path.exists():
            raise BadInput(f"--state: {str(state_dir)!r} holds no Airlock state (no {DB_NAME})")
        # Reading the header opens and closes the database file, and closing any descriptor of
        # it drops every POSIX lock SQLite holds on it in this process: with several threads
        # (the service) that corrupted the database. So check only when no store is open here.
        self._key = key = str(path.absolute())
        with _OPEN_LOCK:
            open_here = _OPEN_IN_THIS_PROCESS.get(key, 0) > 0
            existed = open_here or _check_state_dir(state_dir, path)
            _OPEN_IN_THIS_PROCESS[key] = _OPEN_IN_THIS_PROCESS.get(key, 0) + 1
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            if not existed:
                _create_database(path)
                existed = True
            # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so a writer takes the
            # lock up front instead of failing half-way on upgrade from a read lock.
            self.conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
            self.conn.execute("PRAGMA journal_mode=WAL")
        except (OSError, sqlite3.Error) as exc:
            with _OPEN_LOCK:
                _OPEN_IN_THIS_PROCESS[key] -= 1
            raise StateUnusable(f"--state: cannot use {str(state_dir)!r} as a state directory: {exc}") from None
        if existed and not open_here:
            try:
                _check_airlock_database(self.conn, path)
            except StateUnusable:
                self.close()
                raise
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute("PRAGMA busy_timeout=30000")
        with self.transaction() as cur:
            for statement in iter_statements(_SCHEMA + SERVICE_SCHEMA):
                cur.execute(statement)
            row = cur.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                cur.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) != SCHEMA_VERSION:
                raise BadInput(
                    f"--state: schema version {row[0]} in {str(path)!r} is not supported "
                    f"(this runtime uses {SCHEMA_VERSION})"
                )

    def close(self) -> None:
        self.conn.close()
        with _OPEN_LOCK:
            _OPEN_IN_THIS_PROCESS[self._key] = max(0, _OPEN_IN_THIS_PROCESS.get(self._key, 1) - 1)

    @contextmanager
    def _writing(self, audited: AuditedAction | None) -> Iterator[sqlite3.Cursor]:
        """One transaction for a change and, when ``audited`` is given, its audit record: the
        record is appended before the commit, so a failing audit log rolls the change back
        (and, as everywhere, the log is written ahead of the state)."""
        with self.transaction() as cur:
            yield cur
            if audited is not None:
                self.append_audit(
                    cur, audited.audit, audited.kind, audited.data, task_id=audited.task_id, agent_version=audited.agent_version
                )

    def append_audit(
        self,
        cur: sqlite3.Cursor,
        audit: Any,
        kind: str,
        data: dict[str, Any],
        *,
        task_id: str | None = None,
        agent_version: str | None = None,
    ) -> None:
        """Append an audit record as part of the open transaction ``cur``: the file log is
        written ahead of the commit (its head recorded in the same transaction)."""
        self._advance_audit_head(cur, audit.append(kind, data, task_id=task_id, agent_version=agent_version))

    def secret_history(self) -> SecretHistory:
        """Fingerprints of the secret values this store's runs were given (runtime/secret_history.py)."""
        from runtime.secret_history import SecretHistory

        return SecretHistory(self.state_dir)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        else:
            cur.execute("COMMIT")
        finally:
            cur.close()

    # ------------------------------------------------------------- tasks

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
        ts = now_iso()
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO tasks (id, agent_name, agent_version, spec_text, spec_path, spec_dir, task_text,"
                " status, owner, checkpoint_seq, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,1,?,?)",
                (task_id, agent_name, agent_version, spec_text, spec_path, spec_dir, task_text, RUNNING, owner, ts, ts),
            )
            cur.execute("INSERT INTO messages VALUES (?,?,?)", (task_id, 0, json.dumps(first_message)))
            cur.execute(
                "INSERT INTO checkpoints VALUES (?,?,?,?,?,?,?)",
                (task_id, 1, ts, agent_version, 1, RUNNING, json.dumps(usage.to_json())),
            )
            self._advance_audit_head(cur, audit_head)

    def get_task(self, task_id: str) -> TaskRow | None:
        row = self.conn.execute(
            "SELECT id, agent_name, agent_version, spec_text, spec_path, spec_dir, task_text, status, output,"
            " error, owner, kill_requested, checkpoint_seq, created_at, updated_at FROM tasks WHERE id=?",
            (task_id,),
        ).fetchone()
        if row is None:
            return None
        values = list(row)
        values[11] = bool(values[11])
        return TaskRow(*values)

    def list_tasks(self) -> list[TaskRow]:
        ids = [r[0] for r in self.conn.execute("SELECT id FROM tasks ORDER BY created_at")]
        return [t for t in (self.get_task(i) for i in ids) if t is not None]

    def claim(self, task_id: str, owner: str) -> TaskRow:
        """Make this process the task's runner; refuse if another live process runs it."""
        with self.transaction() as cur:
            row = cur.execute("SELECT status, owner FROM tasks WHERE id=?" + self.row_lock, (task_id,)).fetchone()
            if row is None:
                raise UnknownTask(task_id)
            status, current = row
            if status == RUNNING and current and current != owner and owner_alive(current):
                pid = current.split(":")[1] if current.count(":") >= 1 else current
                raise TaskBusy(f"task {task_id!r} is already running in process {pid}; wait for it or kill it first")
            # An explicit run/resume is what clears a per-task kill (see docs/runtime.md).
            cur.execute(
                "UPDATE tasks SET owner=?, status=?, kill_requested=0, updated_at=? WHERE id=?",
                (owner, RUNNING, now_iso(), task_id),
            )
        task = self.get_task(task_id)
        assert task is not None
        return task

    def load_state(self, task_id: str) -> TaskState:
        row = self.conn.execute(
            "SELECT seq, n_messages, usage FROM checkpoints WHERE task_id=? ORDER BY seq DESC LIMIT 1", (task_id,)
        ).fetchone()
        if row is None:
            raise UnknownTask(task_id)
        seq, n_messages, usage_text = row
        messages = [
            json.loads(body)
            for (body,) in self.conn.execute(
                "SELECT body FROM messages WHERE task_id=? AND idx<? ORDER BY idx", (task_id, n_messages)
            )
        ]
        return TaskState(messages=messages, usage=Usage.from_json(json.loads(usage_text)), checkpoint_seq=seq)

    def checkpoint(
        self,
        task_id: str,
        *,
        agent_version: str,
        state: TaskState,
        new_messages: Sequence[dict[str, Any]] = (),
        status: str = RUNNING,
        output: str | None = None,
        error: str | None = None,
        intents: Sequence[tuple[str, str, str]] = (),
        result: tuple[str, str, bool] | None = None,
        approval: dict[str, Any] | None = None,
        audit_head: tuple[int, str] | None = None,
        release: bool = False,
    ) -> None:
        """Append messages and write one checkpoint, atomically, with the ledger rows that go with it.

        ``intents``: (tool_call_id, tool, arguments_sha256) to record before execution.
        ``result``: (tool_call_id, result text, is_error) completing a ledger intent.
        ``state`` is updated in place (messages appended, checkpoint_seq advanced).
        """
        from runtime import ledger

        ts = now_iso()
        base = len(state.messages)
        seq = state.checkpoint_seq + 1
        with self.transaction() as cur:
            self._check_fence(cur, task_id)
            if new_messages:
                cur.executemany(
                    "INSERT INTO messages VALUES (?,?,?)",
                    [(task_id, base + i, json.dumps(m)) for i, m in enumerate(new_messages)],
                )
            cur.execute(
                "INSERT INTO checkpoints VALUES (?,?,?,?,?,?,?)",
                (task_id, seq, ts, agent_version, base + len(new_messages), status, json.dumps(state.usage.to_json())),
            )
            cur.execute(
                "UPDATE tasks SET status=?, output=?, error=?, checkpoint_seq=?, updated_at=?"
                + (", owner=NULL" if release else "")
                + " WHERE id=?",
                (status, output, error, seq, ts, task_id),
            )
            for call_id, tool, args_sha in intents:
                ledger.write_intent(cur, task_id, call_id, tool, args_sha, ts)
            if result is not None:
                ledger.write_result(cur, task_id, result[0], result[1], result[2], ts)
            if approval is not None:
                cur.execute(
                    "INSERT INTO approvals (id, task_id, tool_call_id, status, payload, requested_at)"
                    " VALUES (?,?,?,?,?,?)",
                    (approval["id"], task_id, approval["tool_call_id"], "pending", json.dumps(approval), ts),
                )
            self._advance_audit_head(cur, audit_head)
        state.messages.extend(new_messages)
        state.checkpoint_seq = seq

    def set_status(
        self, task_id: str, status: str, *, error: str | None = None, release: bool = True, audited: AuditedAction | None = None
    ) -> None:
        """Status change without a new checkpoint (used for tasks no process is running)."""
        with self._writing(audited) as cur:
            cur.execute(
                "UPDATE tasks SET status=?, error=?, updated_at=?"
                + (", owner=NULL" if release else "")
                + " WHERE id=?",
                (status, error, now_iso(), task_id),
            )
            if status not in (RUNNING, QUEUED):
                # Ended outside a worker (e.g. `airlock-runtime kill` on a queued task): no worker may pick it up.
                cur.execute("DELETE FROM queue WHERE task_id=? AND lease_owner IS NULL", (task_id,))

    # ------------------------------------------------------------- kill switch

    def request_kill(self, task_id: str, *, audited: AuditedAction | None = None) -> None:
        with self._writing(audited) as cur:
            cur.execute("UPDATE tasks SET kill_requested=1, updated_at=? WHERE id=?", (now_iso(), task_id))

    def kill_state(self, task_id: str) -> tuple[bool, dict[str, Any] | None]:
        """(this task's kill flag, the global kill switch if engaged): one cheap read."""
        row = self.conn.execute(
            "SELECT t.kill_requested, (SELECT value FROM controls WHERE name='kill_all') FROM tasks t WHERE t.id=?",
            (task_id,),
        ).fetchone()
        if row is None:
            return False, None
        return bool(row[0]), (json.loads(row[1]) if row[1] else None)

    def global_kill(self) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT value FROM controls WHERE name='kill_all'").fetchone()
        return json.loads(row[0]) if row else None

    def engage_global_kill(self, info: dict[str, Any], *, audited: AuditedAction | None = None) -> None:
        with self._writing(audited) as cur:
            cur.execute(
                "INSERT INTO controls VALUES ('kill_all', ?, ?) ON CONFLICT(name) DO UPDATE SET value=excluded.value,"
                " updated_at=excluded.updated_at",
                (json.dumps(info), now_iso()),
            )

    def clear_global_kill(self, *, audited: AuditedAction | None = None) -> bool:
        with self._writing(audited) as cur:
            return cur.execute("DELETE FROM controls WHERE name='kill_all'").rowcount > 0

    # ------------------------------------------------------------- audit head

    @staticmethod
    def _advance_audit_head(cur: sqlite3.Cursor, head: tuple[int, str] | None) -> None:
        if head is None:
            return
        cur.execute(
            "INSERT INTO audit_head VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET seq=excluded.seq,"
            " hash=excluded.hash WHERE excluded.seq > audit_head.seq",
            head,
        )

    def record_audit_head(self, head: tuple[int, str] | None) -> None:
        if head is None:
            return
        with self.transaction() as cur:
            self._advance_audit_head(cur, head)

    def audit_head(self) -> tuple[int, str] | None:
        row = self.conn.execute("SELECT seq, hash FROM audit_head WHERE id=1").fetchone()
        return (int(row[0]), str(row[1])) if row else None


    # ------------------------------------------------------------- ledger and audit (protocol)

    def ledger_entry(self, task_id: str, tool_call_id: str) -> LedgerEntry | None:
        from runtime import ledger

        return ledger.lookup(self.conn, task_id, tool_call_id)

    def open_audit(self) -> AuditLog:
        from runtime.audit import AuditLog

        return AuditLog(self.state_dir / "audit")

    def verify_audit(self) -> VerifyResult:
        from runtime.audit import verify

        return verify(self.state_dir / "audit", self.audit_head())
