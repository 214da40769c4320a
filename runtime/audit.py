"""Append-only, hash-chained audit log in JSON Lines (``<state>/audit/audit.jsonl``).

Each line is the canonical JSON of one record::

    {"seq", "ts", "task_id", "agent_version", "kind", "data", "prev_hash", "hash"}

``hash`` is sha256 over the canonical JSON of the record without ``hash``; ``prev_hash``
is the previous record's hash (64 zeros for the first). Changing a record breaks its
hash; removing or reordering records breaks ``seq`` and ``prev_hash``. Removing records
from the *end* leaves a valid chain, so the state database also keeps the chain head
(seq + hash) and ``verify`` checks the log reaches it.

Records are written *ahead* of the state they describe: after a crash the log may show
work that is then redone on resume (it happened twice, and the log says so), but never
lacks a record of work that happened. Several processes may append (a runner, an
approver): an exclusive ``flock`` serialises appends, and each append is one
``write(2)`` on an ``O_APPEND`` descriptor so a killed writer cannot leave half a line
in practice.

Arguments, results and outputs are never stored in full: ``*_sha256`` of the redacted
text plus a short redacted preview.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.canonical import canonical_json, sha256_hex
from runtime.errors import StateUnusable
from runtime.store import now_iso

GENESIS = "0" * 64
LOG_NAME = "audit.jsonl"
PREVIEW_CHARS = 200
FIELDS = ("seq", "ts", "task_id", "agent_version", "kind", "data", "prev_hash", "hash")


def preview(text: str | None) -> str | None:
    """Short preview of already-redacted text."""
    if text is None:
        return None
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def digest(text: str | None) -> str | None:
    return None if text is None else sha256_hex(text)


def record_hash(record: dict[str, Any]) -> str:
    return sha256_hex(canonical_json({k: v for k, v in record.items() if k != "hash"}))



def chained_record(
    seq: int, prev: str, kind: str, data: dict[str, Any], *, task_id: str | None, agent_version: str | None
) -> dict[str, Any]:
    """The record that follows (seq, prev) in the chain, its hash included: one shape for every
    audit sink (the JSON Lines file here, the PostgreSQL table in runtime/store_pg/audit.py)."""
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
    return record

class AuditLog:
    def __init__(self, audit_dir: Path) -> None:
        self.path = audit_dir / LOG_NAME
        try:
            audit_dir.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            self._lock_fd = os.open(audit_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o640)
        except OSError as exc:
            raise StateUnusable(f"cannot write the audit log {str(self.path)!r}: {exc.strerror or exc}") from None
        # Tail cache: valid while the file size is what we last saw (no other writer).
        self._known_size = -1
        self._tail: tuple[int, str] = (0, GENESIS)
        self.head: tuple[int, str] | None = None  # last record this process wrote

    def close(self) -> None:
        os.close(self._fd)
        os.close(self._lock_fd)

    def _read_tail(self, size: int) -> tuple[int, str, bool]:
        """(seq, hash) of the last parseable record, and whether the file ends mid-line."""
        if size == 0:
            return 0, GENESIS, False
        chunk = 65536
        with open(self.path, "rb") as fh:
            while True:
                start = max(0, size - chunk)
                fh.seek(start)
                data = fh.read(size - start)
                torn = not data.endswith(b"\n")
                # Drop what follows the last newline (b"" or a torn fragment), and the
                # first line when the chunk may have started in the middle of it.
                lines = data.split(b"\n")[:-1]
                if start > 0:
                    lines = lines[1:]
                for line in reversed(lines):
                    try:
                        rec = json.loads(line)
                        return int(rec["seq"]), str(rec["hash"]), torn
                    except (ValueError, KeyError, TypeError):
                        continue
                if start == 0:
                    return 0, GENESIS, torn
                chunk *= 4

    def append(
        self, kind: str, data: dict[str, Any], *, task_id: str | None = None, agent_version: str | None = None
    ) -> tuple[int, str]:
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            size = os.fstat(self._fd).st_size
            torn = False
            if size != self._known_size:
                seq, prev, torn = self._read_tail(size)
                self._tail = (seq, prev)
            seq, prev = self._tail
            record = chained_record(seq, prev, kind, data, task_id=task_id, agent_version=agent_version)
            line = canonical_json(record) + "\n"
            if torn:
                line = "\n" + line  # keep the torn fragment on its own line; verify reports it
            encoded = line.encode("utf-8")
            try:
                written = os.write(self._fd, encoded)
            except OSError as exc:
                raise StateUnusable(f"cannot write the audit log {str(self.path)!r}: {exc.strerror or exc}") from None
            if written != len(encoded):
                raise StateUnusable(f"cannot write the audit log {str(self.path)!r}: short write (disk full?)")
            self._known_size = size + len(encoded)
            self._tail = (record["seq"], record["hash"])
            self.head = self._tail
            return self._tail
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    records: int
    message: str
    bad_line: int | None = None
    bad_seq: int | None = None


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with open(path, "rb") as fh:
        yield from enumerate(fh, start=1)


def verify(audit_dir: Path, recorded_head: tuple[int, str] | None) -> VerifyResult:
    """Check the whole chain; report the first bad record (by line and seq)."""
    path = audit_dir / LOG_NAME
    if not path.exists():
        if recorded_head is not None:
            return VerifyResult(
                False, 0, f"{path} is missing but the state database recorded {recorded_head[0]} records", 1
            )
        return VerifyResult(True, 0, "audit log is empty")
    return verify_lines(_lines(path), recorded_head)


def verify_lines(
    lines: Iterable[tuple[int, bytes]], recorded_head: tuple[int, str] | None, *, where: str = "line"
) -> VerifyResult:
    """The chain check over (line number, raw line) pairs, wherever the records are kept."""
    expected_seq = 1
    prev_hash = GENESIS
    hashes: dict[int, str] = {}
    count = 0

    def bad(line: int, seq: int | None, why: str) -> VerifyResult:
        label = (f"line {line}" if where == "line" else f"row {line} of {where}") + (
            f" (seq {seq})" if seq is not None else ""
        )
        return VerifyResult(False, count, f"audit chain broken at {label}: {why}", line, seq)

    for number, raw in lines:
        if not raw.endswith(b"\n"):
            return bad(number, None, "incomplete last line (a write was cut off or the file was edited)")
        try:
            record = json.loads(raw)
        except ValueError:
            return bad(number, None, "not valid JSON (the record was changed)")
        if not isinstance(record, dict) or set(record) != set(FIELDS):
            return bad(number, None, f"fields are not {', '.join(FIELDS)} (the record was changed)")
        seq = record["seq"]
        if record["hash"] != record_hash(record):
            return bad(number, seq, "content does not match its hash (the record was changed)")
        if seq != expected_seq:
            return bad(number, seq, f"expected seq {expected_seq} (a record was removed or reordered)")
        if record["prev_hash"] != prev_hash:
            return bad(number, seq, "prev_hash does not match the previous record (a record was removed or reordered)")
        hashes[seq] = record["hash"]
        prev_hash = record["hash"]
        expected_seq += 1
        count += 1
    if recorded_head is not None:
        head_seq, head_hash = recorded_head
        if head_seq > count:
            return VerifyResult(
                False,
                count,
                f"audit chain broken at seq {count + 1}: the log ends at seq {count} but the state database "
                f"recorded seq {head_seq} (records were removed from the end)",
                count + 1,
                count + 1,
            )
        if hashes.get(head_seq) != head_hash:
            return VerifyResult(
                False,
                count,
                f"audit chain broken at seq {head_seq}: hash differs from the one the state database recorded",
                None,
                head_seq,
            )
    return VerifyResult(True, count, f"audit chain intact: {count} records, head {prev_hash[:16]}")
