"""The store interface: everything the runtime persists, behind one protocol.

Tasks, messages and checkpoints, the idempotency ledger, approvals, the work queue and
its leases, the kill switches, task events and the audit head. SQLite
(:class:`runtime.store.Store`, the embedded default) and PostgreSQL
(:class:`runtime.store_pg.store.PostgresStore`) and AWS (:class:`runtime.store_aws.store.AwsStore`)
implement it; the backend is picked by
``AIRLOCK_STORE`` in :func:`open_store`. The service and its workers talk only to this
protocol, never to SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

from runtime.errors import BadInput

if TYPE_CHECKING:
    from runtime.approvals import ApprovalRecord
    from runtime.audit import AuditLog, VerifyResult
    from runtime.budget import Usage
    from runtime.ledger import LedgerEntry
    from runtime.secret_history import SecretHistory
    from runtime.store import TaskRow, TaskState


@dataclass(frozen=True)
class Submission:
    """A task accepted by the API, queued for a worker."""

    task_id: str
    agent_name: str
    agent_version: str
    spec_text: str
    spec_path: str | None
    spec_dir: str
    task_text: str
    request_sha256: str
    submitted_by: str
    idempotency_key: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditedAction:
    """An operator action's audit record, kept with the change it describes (both or neither)."""

    audit: Any
    kind: str
    data: dict[str, Any]
    task_id: str | None = None
    agent_version: str | None = None


@dataclass(frozen=True)
class Claim:
    task_id: str
    expired_owner: str | None
    """Set when the task was taken over from a lease that expired (its holder died or hung)."""


@dataclass(frozen=True)
class EventRecord:
    id: int
    kind: str
    data: dict[str, Any]
    created_at: str


@dataclass(frozen=True)
class TaskPage:
    task_ids: list[str]
    next_cursor: str | None


@runtime_checkable
class StateStore(Protocol):
    """What a backend stores. Methods are synchronous; one instance is used by one thread."""

    state_dir: Path

    def close(self) -> None: ...

    # tasks, checkpoints (the runner's side: see runtime/loop.py)
    def get_task(self, task_id: str) -> TaskRow | None: ...
    def load_state(self, task_id: str) -> TaskState: ...
    def create_task(
        self, *, task_id: str, agent_name: str, agent_version: str, spec_text: str, spec_path: str | None,
        spec_dir: str, task_text: str, first_message: dict[str, Any], usage: Usage, owner: str,
        audit_head: tuple[int, str] | None = None,
    ) -> None: ...
    def claim(self, task_id: str, owner: str) -> TaskRow: ...
    def list_tasks(self) -> list[TaskRow]: ...
    def checkpoint(
        self, task_id: str, *, agent_version: str, state: TaskState, new_messages: Sequence[dict[str, Any]] = (),
        status: str = ..., output: str | None = None, error: str | None = None,
        intents: Sequence[tuple[str, str, str]] = (), result: tuple[str, str, bool] | None = None,
        approval: dict[str, Any] | None = None, audit_head: tuple[int, str] | None = None, release: bool = False,
    ) -> None: ...
    def set_status(
        self, task_id: str, status: str, *, error: str | None = None, release: bool = True,
        audited: AuditedAction | None = None,
    ) -> None: ...
    def ledger_entry(self, task_id: str, tool_call_id: str) -> LedgerEntry | None: ...
    def page_tasks(self, *, status: str | None, limit: int, cursor: tuple[str, str] | None) -> TaskPage: ...
    def count_by_status(self) -> dict[str, int]: ...

    # submissions
    def submit_task(self, sub: Submission, *, audit_head: tuple[int, str] | None = None) -> None: ...
    def find_submission(self, idempotency_key: str) -> tuple[str, str] | None: ...
    def task_metadata(self, task_id: str) -> dict[str, Any]: ...

    # queue and leases
    def enqueue(self, task_id: str, agent_version: str) -> None: ...
    def queue_depth(self) -> int: ...
    def claim_next(self, owner: str, agent_version: str, lease_seconds: float) -> Claim | None: ...
    def renew_leases(self, owner: str, task_ids: Sequence[str], lease_seconds: float) -> set[str]: ...
    def release_lease(self, task_id: str, owner: str, *, done: bool) -> bool: ...
    def withdraw(self, task_id: str) -> bool: ...
    def lease_of(self, task_id: str) -> tuple[str | None, float | None] | None: ...

    # kill switches
    def request_kill(self, task_id: str, *, audited: AuditedAction | None = None) -> None: ...
    def kill_state(self, task_id: str) -> tuple[bool, dict[str, Any] | None]: ...
    def global_kill(self) -> dict[str, Any] | None: ...
    def engage_global_kill(self, info: dict[str, Any], *, audited: AuditedAction | None = None) -> None: ...
    def clear_global_kill(self, *, audited: AuditedAction | None = None) -> bool: ...

    # approvals
    def approval(self, approval_id: str) -> ApprovalRecord | None: ...
    def approval_for_call(self, task_id: str, tool_call_id: str) -> ApprovalRecord | None: ...
    def pending_approval(self, task_id: str) -> ApprovalRecord | None: ...
    def list_approvals(self, *, include_decided: bool = False) -> list[ApprovalRecord]: ...
    def record_notify_status(self, approval_id: str, status: str) -> None: ...
    def decide_approval(
        self, approval_id: str, *, approve: bool, by: str, reason: str | None, requeue_version: str | None,
        audit: Any | None = None,
    ) -> ApprovalRecord: ...
    def count_pending_approvals(self) -> int: ...
    def approvals_of_task(self, task_id: str) -> tuple[int, int]: ...

    # events and audit
    def append_event(self, task_id: str, kind: str, data: dict[str, Any]) -> int: ...
    def events_after(self, task_id: str, after_id: int, limit: int = 500) -> list[EventRecord]: ...
    def record_audit_head(self, head: tuple[int, str] | None) -> None: ...
    def open_audit(self) -> AuditLog: ...
    def verify_audit(self) -> VerifyResult: ...
    def audit_head(self) -> tuple[int, str] | None: ...
    def secret_history(self) -> SecretHistory: ...


SQLITE_SCHEME = "sqlite://"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
AWS_SCHEME = "aws:"  # runtime.contract.AWS_STORE
ALLOWED = "sqlite:///<state dir>, postgresql://USER@HOST[:PORT]/DATABASE or aws: (names from the AIRLOCK_* env)"


def state_dir_of(url: str) -> Path:
    """The local state directory an ``AIRLOCK_STORE`` URL names (a scratch directory for PostgreSQL)."""
    if url.startswith(SQLITE_SCHEME):
        path = url[len(SQLITE_SCHEME) :]
        if not path.startswith("/") or len(path) < 2:
            raise BadInput(f"AIRLOCK_STORE: {url!r}: use sqlite:///absolute/path/to/state-dir")
        return Path(path)
    if url.startswith(POSTGRES_SCHEMES):
        import tempfile

        from runtime.store_pg.url import parse_url

        parse_url(url)  # a bad URL (or one carrying a password) is refused before anything starts
        return Path(tempfile.gettempdir())
    if url.startswith(AWS_SCHEME):
        import tempfile

        from runtime.store_aws.config import settings_from_env

        if url != AWS_SCHEME:
            raise BadInput(f"AIRLOCK_STORE: {url!r}: the AWS store is just 'aws:' (queue, table and buckets come from the env)")
        settings_from_env()  # a missing or malformed variable is refused before anything starts
        return Path(tempfile.gettempdir())
    raise BadInput(f"AIRLOCK_STORE: {url!r} is not a store URL; allowed: {ALLOWED}")


def open_store(url: str, *, create: bool = True) -> StateStore:
    if url.startswith(POSTGRES_SCHEMES):
        from runtime.store_pg.store import PostgresStore

        return cast(StateStore, PostgresStore(url, create=create))  # its audit log is PgAuditLog, AuditLog's twin
    if url.startswith(AWS_SCHEME):
        from runtime.store_aws.store import AwsStore

        state_dir_of(url)
        return cast(StateStore, AwsStore(create=create))
    from runtime.store import Store

    return Store(state_dir_of(url), create=create)
