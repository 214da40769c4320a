"""The work queue on SQS, with the lease kept on the task row in DynamoDB.

* Each time a task needs a worker (submitted, requeued after an approval, yielded at a drain)
  one message is sent, carrying a fresh *queue token*; the task row names the token of its
  live message. A message whose token is not the row's is stale (the task ended, was
  withdrawn or was queued again) and is deleted when received.
* Claim = ReceiveMessage with the visibility timeout = the lease, then a conditional update
  of the row (token matches, task still wants a worker, no unexpired lease): the row is
  what decides who holds the lease; the invisible message is the wake-up for the next
  holder when this one stops renewing.
* Heartbeat = ChangeMessageVisibility + extending the row's lease (only while the row still
  names this owner). Release = DeleteMessage (done) or a new message and token (free again).
* A message received ``maxReceiveCount`` times (its holders died or hung each time) is moved
  to the DLQ by SQS; see dead_letters.py.

Ordering keeps crashes harmless: a message is sent before the row names its token (a crash
in between leaves a stale message, never a queued task without one), and the old message is
deleted only after the row names the new one.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from runtime.store_api import Claim
from runtime.store_aws import items
from runtime.store_aws.errors import is_condition_failed
from runtime.store_aws.table import Change

if TYPE_CHECKING:
    from runtime.store_aws.store import AwsStoreBase

    _Base = AwsStoreBase
else:
    _Base = object

RECEIVE_WAIT_SECONDS = 1
"""SQS long poll per claim attempt: an idle worker makes about one request a second."""
STALE_AFTER_SECONDS = 10.0
"""A message younger than this whose token the row does not name yet may be racing the
row's update: it is retried shortly instead of being deleted as stale."""
RETRY_SOON_SECONDS = 1


def new_token() -> str:
    return uuid.uuid4().hex


class WorkQueueMixin(_Base):
    def _send(self, task_id: str, agent_version: str, token: str) -> None:
        body = json.dumps({"task_id": task_id, "agent_version": agent_version, "token": token})
        self.clients.sqs.send_message(QueueUrl=self.settings.queue_url, MessageBody=body)

    def _delete_message(self, receipt: str | None) -> None:
        if not receipt:
            return
        try:
            self.clients.sqs.delete_message(QueueUrl=self.settings.queue_url, ReceiptHandle=receipt)
        except ClientError:
            pass  # the receipt expired: the message comes back, is stale, and is deleted then

    def _visible_in(self, receipt: str, seconds: int) -> bool:
        try:
            self.clients.sqs.change_message_visibility(
                QueueUrl=self.settings.queue_url, ReceiptHandle=receipt, VisibilityTimeout=max(0, seconds)
            )
            return True
        except ClientError:
            return False

    # ------------------------------------------------------------- the protocol

    def enqueue(self, task_id: str, agent_version: str) -> None:
        """Put a task (back) on the queue, free; a no-op for the queue when it is there already."""
        from runtime.store import now_iso
        from runtime.store_queue import QUEUED

        token = new_token()
        self._send(task_id, agent_version, token)
        try:
            self.table.update(Change(items.TASKS, task_id, set={"status": QUEUED, "queue_token": token, "updated_at": now_iso()},
                                     remove=("owner",), condition="attribute_exists(#pk) AND attribute_not_exists(#queue_token)"))
        except ClientError as exc:
            if not is_condition_failed(exc):
                raise
            self.table.update(Change(items.TASKS, task_id, set={"status": QUEUED, "updated_at": now_iso()}, remove=("owner",),
                                     condition="attribute_exists(#pk)"))

    def queue_depth(self) -> int:
        answer = self.clients.sqs.get_queue_attributes(
            QueueUrl=self.settings.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(answer["Attributes"]["ApproximateNumberOfMessages"])

    def claim_next(self, owner: str, agent_version: str, lease_seconds: float) -> Claim | None:
        """Receive one message and take the lease its task row offers, or None."""
        from runtime.store import RUNNING, now_iso
        from runtime.store_queue import QUEUED

        self.reap_dead_letters_now_and_then()
        answer = self.clients.sqs.receive_message(
            QueueUrl=self.settings.queue_url,
            MaxNumberOfMessages=1,
            VisibilityTimeout=math.ceil(lease_seconds),
            WaitTimeSeconds=self.receive_wait_seconds,
            MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
        )
        messages = answer.get("Messages") or []
        if not messages:
            return None
        message = messages[0]
        receipt = message["ReceiptHandle"]
        try:
            body = json.loads(message["Body"])
            task_id, version, token = str(body["task_id"]), str(body["agent_version"]), str(body["token"])
        except (ValueError, KeyError, TypeError):
            self._delete_message(receipt)  # not ours: nothing can ever run it
            return None
        if version != agent_version or self.global_kill() is not None:
            # Another agent version's task (a rolling update): let a replica of that version take it.
            # The kill switch engaged during the long poll: the task stays queued, not started.
            self._visible_in(receipt, RETRY_SOON_SECONDS)
            return None
        now = time.time()
        try:
            previous = self.table.update(
                Change(
                    items.TASKS, task_id,
                    set={"lease_owner": owner, "lease_expires_at": now + lease_seconds, "receipt": receipt,
                         "status": RUNNING, "owner": owner, "updated_at": now_iso()},
                    add={"claims": 1},
                    condition="#queue_token = :token AND #status IN (:queued, :running)"
                    " AND (attribute_not_exists(#lease_owner) OR #lease_expires_at < :now)",
                    values={"token": token, "queued": QUEUED, "running": RUNNING, "now": now},
                ),
                returning="ALL_OLD",
            )
        except ClientError as exc:
            if not is_condition_failed(exc):
                raise
            self._not_claimable(task_id, token, receipt, message, now)
            return None
        return Claim(task_id=task_id, expired_owner=previous.get("lease_owner"))

    def _not_claimable(self, task_id: str, token: str, receipt: str, message: dict[str, Any], now: float) -> None:
        row = self.table.get(items.TASKS, task_id)
        sent = int(message.get("Attributes", {}).get("SentTimestamp", "0")) / 1000
        if row is not None and row.get("queue_token") == token and row.get("status") in ("queued", "running"):
            # A live lease (its holder's clock ran ahead of SQS's): look again when it ends.
            self._visible_in(receipt, math.ceil(float(row.get("lease_expires_at") or now) - now) + 1)
        elif (row is None or row.get("queue_token") is None) and now - sent < STALE_AFTER_SECONDS:
            self._visible_in(receipt, RETRY_SOON_SECONDS)  # the row's write may still be on its way
        else:
            self._delete_message(receipt)

    def renew_leases(self, owner: str, task_ids: Sequence[str], lease_seconds: float) -> set[str]:
        """Extend this owner's leases (message and row); returns the task ids it still holds."""
        held = set()
        for task_id in task_ids:
            now = time.time()  # the row's lease ends no later than the message's invisibility
            row = self.table.get(items.TASKS, task_id)
            if row is None or row.get("lease_owner") != owner or float(row.get("lease_expires_at") or 0) < now:
                continue
            if not self._visible_in(str(row.get("receipt")), math.ceil(lease_seconds)):
                continue  # the message is gone or was received again: the lease is lost
            try:
                self.table.update(Change(items.TASKS, task_id, set={"lease_expires_at": now + lease_seconds},
                                         condition="#lease_owner = :owner AND #lease_expires_at >= :now",
                                         values={"owner": owner, "now": now}))
            except ClientError as exc:
                if is_condition_failed(exc):
                    continue
                raise
            held.add(task_id)
        return held

    def release_lease(self, task_id: str, owner: str, *, done: bool) -> bool:
        """End this owner's lease: ``done`` removes the task from the queue, else it is free again (queued)."""
        from runtime.store import now_iso
        from runtime.store_queue import QUEUED

        row = self.table.get(items.TASKS, task_id)
        if row is None or row.get("lease_owner") != owner:
            return False
        lease = ("lease_owner", "lease_expires_at", "receipt")
        try:
            if done:
                self.table.update(Change(items.TASKS, task_id, remove=(*lease, "queue_token"),
                                         condition="#lease_owner = :owner", values={"owner": owner}))
            else:
                token = new_token()
                self._send(task_id, str(row["agent_version"]), token)
                self.table.update(Change(items.TASKS, task_id,
                                         set={"status": QUEUED, "queue_token": token, "updated_at": now_iso()},
                                         remove=(*lease, "owner"), condition="#lease_owner = :owner",
                                         values={"owner": owner}))
        except ClientError as exc:
            if is_condition_failed(exc):
                return False
            raise
        self._delete_message(row.get("receipt"))
        return True

    def withdraw(self, task_id: str) -> bool:
        """Take a task off the queue if no live lease holds it (its message becomes stale)."""
        try:
            self.table.update(Change(items.TASKS, task_id, remove=("queue_token",),
                                     condition="attribute_exists(#queue_token) AND (attribute_not_exists(#lease_owner)"
                                     " OR #lease_expires_at < :now)", values={"now": time.time()}))
        except ClientError as exc:
            if is_condition_failed(exc):
                return False
            raise
        return True

    def lease_of(self, task_id: str) -> tuple[str | None, float | None] | None:
        row = self.table.get(items.TASKS, task_id)
        if row is None or row.get("queue_token") is None:
            return None
        expires = row.get("lease_expires_at")
        return row.get("lease_owner"), (float(expires) if expires is not None else None)
