"""The dead-letter queue: a task whose message SQS gave up on ends ``failed``, saying why.

SQS moves a message to the DLQ after ``maxReceiveCount`` receives (the queue's
RedrivePolicy): each receive was a worker taking the lease and then dying or hanging
past it without finishing. Workers poll the DLQ now and then (every claim attempt may,
at most once per ``DEAD_LETTER_POLL_SECONDS`` per store): for a message whose token is
still the task's, the row is set ``failed`` with the reason (and its lease and owner
dropped, so a hung holder's next checkpoint is refused); only then is the DLQ message
deleted, so a crash in between leaves it to the next poll. A stale message (the task
moved on) is just deleted.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from runtime.store_aws import items
from runtime.store_aws.errors import is_condition_failed
from runtime.store_aws.table import Change

if TYPE_CHECKING:
    from runtime.store_aws.store import AwsStoreBase

    _Base = AwsStoreBase
else:
    _Base = object

DEAD_LETTER_POLL_SECONDS = 5.0


def dead_letter_reason(receives: str, max_receives: int | None) -> str:
    limit = f" (the queue's maxReceiveCount is {max_receives})" if max_receives else ""
    return (
        f"the task's queue message was received {receives} times without the task finishing{limit}; "
        "SQS moved it to the dead-letter queue, so no worker retries it. Each receive was a worker that "
        "died or hung past its lease: see the orchestrator's logs, then resume the task if it is safe"
    )


class DeadLettersMixin(_Base):
    _last_dead_letter_poll = 0.0
    _max_receives: int | None = None

    def reap_dead_letters_now_and_then(self) -> int:
        if time.monotonic() - self._last_dead_letter_poll < self.dead_letter_poll_seconds:
            return 0
        self._last_dead_letter_poll = time.monotonic()
        return self.reap_dead_letters()

    def max_receives(self) -> int | None:
        if self._max_receives is None:
            attributes = self.clients.sqs.get_queue_attributes(
                QueueUrl=self.settings.queue_url, AttributeNames=["RedrivePolicy"]
            )["Attributes"]
            try:
                self._max_receives = int(json.loads(attributes.get("RedrivePolicy", "{}"))["maxReceiveCount"])
            except (ValueError, KeyError, TypeError):
                return None
        return self._max_receives

    def reap_dead_letters(self) -> int:
        """Record every dead-lettered task as failed; returns how many tasks were failed."""
        from runtime.store import FAILED, now_iso

        failed = 0
        while True:
            answer = self.clients.sqs.receive_message(
                QueueUrl=self.settings.dead_letter_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                VisibilityTimeout=30, MessageSystemAttributeNames=["ApproximateReceiveCount"],
            )
            messages = answer.get("Messages") or []
            if not messages:
                return failed
            for message in messages:
                try:
                    body = json.loads(message["Body"])
                    task_id, token = str(body["task_id"]), str(body["token"])
                except (ValueError, KeyError, TypeError):
                    task_id, token = "", ""
                if task_id:
                    receives = message.get("Attributes", {}).get("ApproximateReceiveCount", "?")
                    error = dead_letter_reason(receives, self.max_receives())
                    try:
                        self.table.update(Change(
                            items.TASKS, task_id,
                            set={"status": FAILED, "error": error, "updated_at": now_iso()},
                            remove=("owner", "lease_owner", "lease_expires_at", "receipt", "queue_token"),
                            condition="#queue_token = :token AND #status IN (:queued, :running)",
                            values={"token": token, "queued": "queued", "running": "running"},
                        ))
                        failed += 1
                        self.append_event(task_id, "finished", {"status": FAILED, "error": error})
                    except ClientError as exc:
                        if not is_condition_failed(exc):
                            raise  # the DLQ message stays: the next poll records it
                self.clients.sqs.delete_message(
                    QueueUrl=self.settings.dead_letter_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
