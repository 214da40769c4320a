"""Redact secret values a state directory has ever been given, after they were rotated.

A rotated credential is resolved afresh on every run and resume, so the redactor would
forget the old value, while a tool may still come across it (an old config file, a log).
The old values themselves are never written anywhere. The state directory keeps, per value,
only what is needed to recognise it again: its length, a 32-bit rolling fingerprint to find
candidates fast, and an HMAC-SHA256 under a random key kept next to it to confirm them.
(Someone holding the state directory could test guesses of a weak secret against the HMAC;
strong credentials, the kind Airlock handles, cannot be recovered from it.)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets as random_source
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runtime.errors import StateUnusable

FILE_NAME = "secret-fingerprints.json"
_MOD = (1 << 31) - 1  # prime modulus of the rolling fingerprint


@dataclass(frozen=True)
class Fingerprint:
    name: str
    length: int
    rolling: int
    mac: str


def _rolling(text: str, base: int) -> int:
    value = 0
    for ch in text:
        value = (value * base + ord(ch)) % _MOD
    return value


class RetiredValues:
    """Finds values whose fingerprints were recorded, in any text."""

    def __init__(self, key: bytes, fingerprints: list[Fingerprint]) -> None:
        self._key = key
        self._base = int.from_bytes(hashlib.sha256(key + b"base").digest()[:4], "big") % (_MOD - 256) + 256
        self._by_length: dict[int, dict[int, list[Fingerprint]]] = {}
        for fp in fingerprints:
            self._by_length.setdefault(fp.length, {}).setdefault(fp.rolling, []).append(fp)

    def __bool__(self) -> bool:
        return bool(self._by_length)

    def fingerprint(self, name: str, value: str) -> Fingerprint:
        mac = hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()
        return Fingerprint(name, len(value), _rolling(value, self._base), mac)

    def redact(self, text: str, placeholder: Callable[[str], str]) -> str:
        spans: list[tuple[int, int, str]] = []
        for length, by_rolling in sorted(self._by_length.items(), reverse=True):
            if length > len(text):
                continue
            top = pow(self._base, length - 1, _MOD)
            value = _rolling(text[:length], self._base)
            for start in range(len(text) - length + 1):
                if start:
                    value = ((value - ord(text[start - 1]) * top) * self._base + ord(text[start + length - 1])) % _MOD
                candidates = by_rolling.get(value)
                if candidates:
                    piece = text[start : start + length]
                    mac = hmac.new(self._key, piece.encode("utf-8"), hashlib.sha256).hexdigest()
                    for fp in candidates:
                        if hmac.compare_digest(mac, fp.mac):
                            spans.append((start, start + length, fp.name))
        if not spans:
            return text
        out, cursor = [], 0
        for start, end, name in sorted(spans):
            if start < cursor:
                continue  # overlaps a longer match already replaced
            out.append(text[cursor:start])
            out.append(placeholder(name))
            cursor = end
        out.append(text[cursor:])
        return "".join(out)


class SecretHistory:
    """The fingerprint file of one state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / FILE_NAME
        try:
            document = json.loads(self.path.read_text()) if self.path.exists() else None
        except (OSError, ValueError) as exc:
            raise StateUnusable(f"--state: {str(self.path)!r} is damaged ({exc}); restore it or move it away") from None
        if document is None:
            self.key = random_source.token_bytes(32)
            self.entries: list[Fingerprint] = []
        else:
            try:
                self.key = bytes.fromhex(document["key"])
                self.entries = [Fingerprint(**e) for e in document["fingerprints"]]
            except (KeyError, TypeError, ValueError) as exc:
                raise StateUnusable(f"--state: {str(self.path)!r} is damaged ({exc}); restore it or move it away") from None

    def known(self) -> RetiredValues:
        """A matcher for every value ever recorded: what an operator command, which resolves
        no secrets, uses to redact what it is given (an approval reason)."""
        return RetiredValues(self.key, list(self.entries))

    def remember(self, values: dict[str, str]) -> RetiredValues:
        """Record the current values; return a matcher for every earlier value not in use now."""
        matcher = RetiredValues(self.key, [])
        current = {matcher.fingerprint(name, value) for name, value in values.items() if value}
        known = {(e.length, e.mac) for e in self.entries}
        added = [fp for fp in sorted(current, key=lambda f: (f.name, f.mac)) if (fp.length, fp.mac) not in known]
        if added:
            self.entries.extend(added)
            self._save()
        in_use = {(fp.length, fp.mac) for fp in current}
        return RetiredValues(self.key, [e for e in self.entries if (e.length, e.mac) not in in_use])

    def _save(self) -> None:
        document = {"key": self.key.hex(), "fingerprints": [e.__dict__ for e in self.entries]}
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(document, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(temporary, self.path)
        except OSError as exc:
            raise StateUnusable(f"--state: cannot write {str(self.path)!r}: {exc.strerror or exc}") from None
