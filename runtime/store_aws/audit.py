"""The audit chain on AWS: one S3 object per record in the Object-Locked bucket, the head in DynamoDB.

Same records and hashes as the file log (runtime/audit.py): each object's body is the
record's canonical JSON plus a newline, exactly the line the file log would hold, so
``verify`` is the file log's check (``verify_lines``) run over the objects in order.

Why a "segment" is one record (key ``records/<seq, 20 digits>.json``):

* Each append must be durable before it returns (write-ahead: the record exists before the
  state it describes). A batched segment would either make every append wait for the batch
  to fill, or be rewritten as it grows; Object Lock forbids the rewrite (and this module
  treats any second version of a key as tampering), so a segment cannot grow after it is
  written. One object per record is the only segment that is complete when written.
* Zero-padded keys list in chain order, so ``verify`` streams the bucket without a manifest
  (a manifest would itself be an object rewritten on every append).
* The cost is one PUT per record (S3 charges per request, not per byte here); records are
  small (arguments and results are stored as digests plus a short preview).

Appending from many processes and hosts (the head item ``AWS_AUDIT_HEAD_KEY`` in the table
holds ``seq`` and ``hash`` of the last record the chain is known to reach):

1. Read the head (a consistent read; a process reuses the head it last saw and falls back
   to reading when that turns out stale).
2. Put record ``seq + 1`` with ``If-None-Match: *``: S3 refuses the put if that key exists,
   so two writers can never both write record N, and no key ever gets a second version.
3. Advance the head with a conditional write: only if it still holds the seq read in 1.

If the put in 2 is refused, another writer got record N first: its record is read, checked
to follow the head (seq, prev_hash, own hash), and the head is advanced to it on that
writer's behalf (it may have crashed between 2 and 3), then the append starts over. If the
conditional write in 3 fails, another writer already moved the head past our record (it
could only do so by reading it), so the append is complete. A crash between 2 and 3 thus
leaves a durable record just past the head, which the next append adopts: the chain may
run ahead of the head, never behind it.

``verify`` reads the head first, then lists every version of every key: a key with a second
version (an overwrite, however well-formed) or a missing one is tampering; a record hidden
by a delete marker counts as removed, which the chain check or the head then reports.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from runtime.audit import GENESIS, VerifyResult, chained_record, record_hash, verify_lines
from runtime.canonical import canonical_json
from runtime.contract import AWS_AUDIT_HEAD_KEY
from runtime.errors import StateUnusable

if TYPE_CHECKING:
    from runtime.store_aws.config import AwsClients, AwsSettings

PREFIX = "records/"
KEY_DIGITS = 20
_KEY = re.compile(rf"^{re.escape(PREFIX)}(\d{{{KEY_DIGITS}}})\.json$")
SEQ_ATTRIBUTE = "audit_seq"  # not "seq"/"hash": HASH is a DynamoDB reserved word
HASH_ATTRIBUTE = "audit_hash"
MAX_APPEND_ROUNDS = 1000
"""Bound on start-overs of one append (each means another writer appended meanwhile)."""
VERIFY_FETCH_THREADS = 8


def record_key(seq: int) -> str:
    return f"{PREFIX}{seq:0{KEY_DIGITS}d}.json"


def _head_key() -> dict[str, dict[str, str]]:
    return {name: {"S": value} for name, value in AWS_AUDIT_HEAD_KEY.items()}


def _reason(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    return str(exc)


def _is(exc: ClientError, *codes: str) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error.get("Code") in codes or str(status) in codes


def read_head(dynamodb: Any, table: str) -> tuple[int, str] | None:
    """The chain head the table records: (seq, hash), or None before the first record."""
    item = dynamodb.get_item(TableName=table, Key=_head_key(), ConsistentRead=True).get("Item")
    if not item or SEQ_ATTRIBUTE not in item:
        return None
    return int(item[SEQ_ATTRIBUTE]["N"]), str(item[HASH_ATTRIBUTE]["S"])


def advance_head(dynamodb: Any, table: str, seen: tuple[int, str] | None, new: tuple[int, str]) -> bool:
    """Move the head from ``seen`` to ``new``; False when it no longer holds ``seen`` (someone else moved it)."""
    values: dict[str, Any] = {":seq": {"N": str(new[0])}, ":hash": {"S": new[1]}}
    if seen is None:
        condition = "attribute_not_exists(#seq)"
    else:
        condition = "#seq = :seen"
        values[":seen"] = {"N": str(seen[0])}
    try:
        dynamodb.update_item(
            TableName=table,
            Key=_head_key(),
            UpdateExpression="SET #seq = :seq, #hash = :hash",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#seq": SEQ_ATTRIBUTE, "#hash": HASH_ATTRIBUTE},
            ExpressionAttributeValues=values,
        )
    except ClientError as exc:
        if _is(exc, "ConditionalCheckFailedException"):
            return False
        raise
    return True


class S3AuditLog:
    """The AWS twin of runtime.audit.AuditLog and runtime.store_pg.audit.PgAuditLog."""

    def __init__(self, s3: Any, dynamodb: Any, bucket: str, table: str) -> None:
        self._s3, self._dynamodb = s3, dynamodb
        self.bucket, self.table = bucket, table
        self._seen: tuple[int, str] | None = None  # the head as this process last knew it (maybe stale)
        # One append at a time per log: worker threads share it, and an append reads and moves
        # _seen between its put and its head update. Other processes are ordered by the head
        # item's conditional write.
        self._lock = threading.Lock()
        self.head: tuple[int, str] | None = None  # last record this process wrote

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{PREFIX}"

    def close(self) -> None:
        return None  # the clients belong to the store

    def append(
        self, kind: str, data: dict[str, Any], *, task_id: str | None = None, agent_version: str | None = None
    ) -> tuple[int, str]:
        """Store one record; returns (seq, hash) only once the record is durable in the bucket."""
        try:
            with self._lock:
                return self._append(kind, data, task_id=task_id, agent_version=agent_version)
        except (ClientError, BotoCoreError) as exc:
            raise StateUnusable(f"cannot write the audit log ({self.where}, head in table {self.table}): {_reason(exc)}") from None

    def _append(self, kind: str, data: dict[str, Any], *, task_id: str | None, agent_version: str | None) -> tuple[int, str]:
        if self._seen is None:
            self._refresh()
        for _ in range(MAX_APPEND_ROUNDS):
            seen = self._seen
            seq, prev = seen or (0, GENESIS)
            record = chained_record(seq, prev, kind, data, task_id=task_id, agent_version=agent_version)
            body = (canonical_json(record) + "\n").encode("utf-8")
            mine = (int(record["seq"]), str(record["hash"]))
            existing = self._put_new(record_key(mine[0]), body)
            # Identical bytes: botocore retried our own put after its answer was lost (a 5xx or a
            # timeout after S3 had stored it); the record is ours, stored once.
            if existing is None or existing == body:
                # False: another writer moved the head, which it could only do past our record.
                # From the head this record was chained to, never from a later one: a head
                # moved past our record by another writer must not be moved back to it.
                advance_head(self._dynamodb, self.table, seen, mine)
                self._seen = self.head = mine
                return mine
            self._catch_up()
        raise StateUnusable(
            f"cannot write the audit log ({self.where}): {MAX_APPEND_ROUNDS} other appends won the race in a row"
        )

    def _refresh(self) -> None:
        self._seen = read_head(self._dynamodb, self.table)

    def _put_new(self, key: str, body: bytes) -> bytes | None:
        """Put ``body`` under a new key: None when stored, else the bytes already stored there."""
        try:
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json", IfNoneMatch="*")
        except ClientError as exc:
            # 409 ConditionalRequestConflict: a put of the same key is in flight; it is taken too.
            if not _is(exc, "PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                raise
            return _get(self._s3, self.bucket, key) or b""
        return None

    def _catch_up(self) -> None:
        """Another writer's record holds the key we tried: move the head item up to the end of the
        chain in the bucket (its writers may have crashed before moving it), then try again."""
        self._refresh()
        while True:
            head = self._seen or (0, GENESIS)
            key = record_key(head[0] + 1)
            raw = _get(self._s3, self.bucket, key)
            if raw is None:
                return
            try:
                record = json.loads(raw)
            except ValueError:
                record = None
            if not _follows(record, head):
                raise StateUnusable(
                    f"cannot write the audit log ({self.where}): {key} does not follow the chain head "
                    f"seq {head[0]} in table {self.table} (run `airlock-runtime audit verify`)"
                )
            advance_head(self._dynamodb, self.table, self._seen, (int(record["seq"]), str(record["hash"])))
            self._refresh()


def _get(s3: Any, bucket: str, key: str) -> bytes | None:
    try:
        return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as exc:
        if _is(exc, "NoSuchKey", "404"):
            return None
        raise


def _follows(record: Any, head: tuple[int, str]) -> bool:
    return (
        isinstance(record, dict)
        and record.get("seq") == head[0] + 1
        and record.get("prev_hash") == head[1]
        and record.get("hash") == record_hash(record)
    )


# ----------------------------------------------------------------------------- verify


@dataclass(frozen=True)
class _Version:
    key: str
    seq: int
    version_id: str  # the latest version: what a reader of the bucket sees
    versions: int


@dataclass
class _Damage:
    """What the listing found that the chain check cannot see (it only gets the record bodies)."""

    result: VerifyResult | None = None
    rewritten: dict[int, int] | None = None  # seq -> versions of its key, when more than one


def _versions(s3: Any, bucket: str, damage: _Damage) -> Iterator[_Version]:
    """The record keys in order, each with its latest version; a key hidden by a delete marker is
    left out (the chain check then reports the record as removed)."""
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=PREFIX)
    pending: dict[str, list[dict[str, Any]]] = {}
    hidden: set[str] = set()

    def finish(key: str) -> Iterator[_Version]:
        versions = pending.pop(key)
        match = _KEY.match(key)
        if match is None:
            damage.result = VerifyResult(False, 0, f"audit chain broken: s3://{bucket}/{key} is not a record key (an object was added)")
            return
        if key in hidden:
            return
        seq = int(match.group(1))
        latest = next((v for v in versions if v.get("IsLatest")), versions[0])
        yield _Version(key, seq, latest["VersionId"], len(versions))

    # A listing is in key order, so a key's versions are complete once a later key appears.
    for page in pages:
        for marker in page.get("DeleteMarkers", []):
            if marker.get("IsLatest"):
                hidden.add(marker["Key"])
        for version in page.get("Versions", []):
            key = version["Key"]
            for done in sorted(k for k in pending if k < key):
                yield from finish(done)
                if damage.result is not None:
                    return
            pending.setdefault(key, []).append(version)
    for done in sorted(pending):
        yield from finish(done)
        if damage.result is not None:
            return


def _lines(s3: Any, bucket: str, damage: _Damage) -> Iterator[tuple[int, bytes]]:
    """(position, latest object body) for the verifier, fetched ahead in parallel, kept in order.
    A key written more than once stops the walk right after its record was checked: the chain
    check names a changed record precisely; an overwrite that kept the bytes valid is still
    tampering, reported from ``damage``."""

    def body(version: _Version) -> tuple[_Version, bytes]:
        return version, s3.get_object(Bucket=bucket, Key=version.key, VersionId=version.version_id)["Body"].read()

    number = 0

    def emit(future: Any) -> Iterator[tuple[int, bytes]]:
        nonlocal number
        version, raw = future.result()
        number += 1
        try:
            stored_seq = json.loads(raw).get("seq")
        except (ValueError, AttributeError):
            stored_seq = None
        if isinstance(stored_seq, int) and stored_seq != version.seq:
            damage.result = VerifyResult(
                False,
                number - 1,
                f"audit chain broken at seq {stored_seq}: stored under s3://{bucket}/{version.key} (a record was moved)",
                number,
                stored_seq,
            )
            return
        if version.versions > 1:
            damage.rewritten = {version.seq: version.versions}
        yield number, raw
        if version.versions > 1:
            damage.result = VerifyResult(
                False,
                number,
                f"audit chain broken at seq {version.seq}: s3://{bucket}/{version.key} has {version.versions} "
                "versions (the record was written again after it was written: tampering)",
                number,
                version.seq,
            )

    with ThreadPoolExecutor(max_workers=VERIFY_FETCH_THREADS) as pool:
        window: list[Any] = []
        for version in _versions(s3, bucket, damage):
            window.append(pool.submit(body, version))
            if len(window) >= VERIFY_FETCH_THREADS * 4:
                yield from emit(window.pop(0))
                if damage.result is not None:
                    return
        for future in window:
            yield from emit(future)
            if damage.result is not None:
                return


def verify(s3: Any, dynamodb: Any, bucket: str, table: str) -> VerifyResult:
    """Check every record in the bucket with the shared verifier and that the chain reaches the head item."""
    where = f"s3://{bucket}/{PREFIX}"
    try:
        head = read_head(dynamodb, table)  # first: records appended while we list only run ahead of it
        damage = _Damage()
        result = verify_lines(_lines(s3, bucket, damage), head, where=where)
    except (ClientError, BotoCoreError) as exc:
        raise StateUnusable(f"cannot read the audit log ({where}, head in table {table}): {_reason(exc)}") from None
    if not result.ok and damage.rewritten and result.bad_seq in damage.rewritten:
        count = damage.rewritten[result.bad_seq]
        return replace(result, message=f"{result.message}; its object has {count} versions (written again: tampering)")
    return damage.result or result


def open_audit_log(settings: AwsSettings, clients: AwsClients) -> S3AuditLog:
    """The store's audit log: its bucket and head item from the settings, its clients shared."""
    return S3AuditLog(clients.s3, clients.dynamodb, settings.audit_bucket, settings.table)


def verify_audit_log(settings: AwsSettings, clients: AwsClients) -> VerifyResult:
    return verify(clients.s3, clients.dynamodb, settings.audit_bucket, settings.table)
