"""The AWS implementation of :class:`runtime.store_api.StateStore` (``AIRLOCK_STORE=aws:``).

SQS is the work queue (work_queue.py, dead_letters.py); one DynamoDB table keeps the tasks,
messages, checkpoints, ledger, approvals, kill switches, events and submissions (items.py);
text too big for an item goes to the payload bucket (payloads.py); the audit log is
hash-chained segments in the Object-Locked audit bucket with its head in the table
(audit.py). Names come from the environment the orchestrator's pod is given (config.py).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime import contract
from runtime.audit import VerifyResult
from runtime.store_aws.approvals import ApprovalItemsMixin
from runtime.store_aws.config import AwsClients, AwsSettings, make_clients, settings_from_env
from runtime.store_aws.controls import ControlsMixin
from runtime.store_aws.dead_letters import DEAD_LETTER_POLL_SECONDS, DeadLettersMixin
from runtime.store_aws.payloads import Payloads
from runtime.store_aws.secret_history import AwsSecretHistory
from runtime.store_aws.table import Change, New, Table

if TYPE_CHECKING:
    from runtime.budget import Usage
    from runtime.store import TaskRow
from runtime.store_aws.tasks import TaskItemsMixin
from runtime.store_aws.work_queue import RECEIVE_WAIT_SECONDS, WorkQueueMixin


class AwsStoreBase:
    """What the mixins share: settings, clients, the table and the payload bucket."""

    url = contract.AWS_STORE
    receive_wait_seconds = RECEIVE_WAIT_SECONDS
    dead_letter_poll_seconds = DEAD_LETTER_POLL_SECONDS

    def __init__(self, settings: AwsSettings, clients: AwsClients) -> None:
        self.settings = settings
        self.clients = clients
        self.table = Table(clients.dynamodb, settings.table)
        self.payloads = Payloads(clients.s3, settings.payload_bucket)
        self.fence_owner: str | None = None
        # Nothing is kept on local disk; state_dir is a scratch place (like PostgreSQL's).
        self.state_dir = Path(tempfile.gettempdir())

    if TYPE_CHECKING:  # implemented by the mixins; declared for the ones that call each other
        def _send(self, task_id: str, agent_version: str, token: str) -> None: ...
        def append_event(self, task_id: str, kind: str, data: dict[str, Any]) -> int: ...
        def record_audit_head(self, head: tuple[int, str] | None) -> None: ...
        def _audit_head_writes(self, head: tuple[int, str] | None) -> list[Change | New]: ...
        def _task_items(self) -> list[dict[str, Any]]: ...
        def _new_task_writes(
            self, *, task_id: str, row: dict[str, Any], first_message: dict[str, Any], usage: Usage, status: str, ts: str
        ) -> list[Change | New]: ...
        def get_task(self, task_id: str) -> TaskRow | None: ...
        def reap_dead_letters_now_and_then(self) -> int: ...
        def global_kill(self) -> dict[str, Any] | None: ...


class AwsStore(TaskItemsMixin, WorkQueueMixin, DeadLettersMixin, ApprovalItemsMixin, ControlsMixin, AwsStoreBase):
    def __init__(self, *, create: bool = True) -> None:
        settings = settings_from_env()
        super().__init__(settings, make_clients(settings))

    def close(self) -> None:
        for client in (self.clients.sqs, self.clients.dynamodb, self.clients.s3):
            client.close()

    def secret_history(self) -> AwsSecretHistory:
        return AwsSecretHistory(self)

    def audit_head(self) -> tuple[int, str] | None:
        from runtime.store_aws.audit import read_head

        return read_head(self.clients.dynamodb, self.settings.table)

    def open_audit(self) -> Any:
        """The audit log in the Object-Locked bucket; it moves the head item itself as it appends."""
        from runtime.store_aws.audit import S3AuditLog

        return S3AuditLog(self.clients.s3, self.clients.dynamodb, self.settings.audit_bucket, self.settings.table)

    def verify_audit(self) -> VerifyResult:
        from runtime.store_aws.audit import verify

        return verify(self.clients.s3, self.clients.dynamodb, self.settings.audit_bucket, self.settings.table)
