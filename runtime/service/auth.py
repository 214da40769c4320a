"""Bearer tokens: a file of SHA-256 hashes with names and roles; the tokens themselves are never stored.

The file (``AIRLOCK_API_TOKENS_FILE``, mounted from a Secret) holds one JSON object per
line: ``{"name", "sha256", "roles", "created_at"}``. `airlock-runtime token create` prints a
new token once and appends its hash. The file is re-read when it changes, so a revoked
token stops working without a restart. Comparison is constant-time over every entry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from runtime.errors import BadInput

SUBMIT, APPROVE, ADMIN = "submit", "approve", "admin"
ROLES = (SUBMIT, APPROVE, ADMIN)
TOKEN_PREFIX = "alk_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


@dataclass(frozen=True)
class Principal:
    name: str
    roles: frozenset[str]

    def may(self, role: str) -> bool:
        """admin may do everything the others may."""
        return role in self.roles or ADMIN in self.roles


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_roles(text: str) -> list[str]:
    roles = [r.strip() for r in text.split(",") if r.strip()]
    bad = [r for r in roles if r not in ROLES]
    if not roles or bad:
        raise BadInput(f"--roles: {text!r} is not a list of roles; allowed: {', '.join(ROLES)} (comma-separated)")
    return sorted(set(roles))


def create_token(path: Path, name: str, roles: list[str]) -> str:
    """Append a new token's hash to the file; return the token (shown once)."""
    from runtime.store import now_iso

    if not _NAME.match(name):
        raise BadInput(f"--name: {name!r} is not allowed; use 1-64 letters, digits, '_', '.', '@', '-'")
    existing = TokenFile(path).entries() if path.exists() else []
    if any(e.name == name for e in existing):
        raise BadInput(f"--name: a token named {name!r} already exists in {str(path)!r}; names are unique")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    line = json.dumps({"name": name, "sha256": token_sha256(token), "roles": roles, "created_at": now_iso()})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)
    return token


@dataclass(frozen=True)
class _Entry:
    name: str
    sha256: bytes
    roles: frozenset[str]


class TokenFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._entries: list[_Entry] = []

    def entries(self) -> list[_Entry]:
        """Parsed entries; BadInput naming the line when the file is damaged."""
        try:
            stat = self.path.stat()
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise BadInput(f"tokens file {str(self.path)!r}: cannot read it: {exc.strerror or exc}") from None
        with self._lock:
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp == self._stamp:
                return self._entries
            entries = []
            for number, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    doc = json.loads(line)
                    roles = frozenset(doc["roles"])
                    digest = bytes.fromhex(doc["sha256"])
                    if len(digest) != 32 or not roles <= set(ROLES) or not isinstance(doc["name"], str):
                        raise ValueError
                except (ValueError, KeyError, TypeError):
                    raise BadInput(
                        f"tokens file {str(self.path)!r} line {number}: expected "
                        '{"name": str, "sha256": 64 hex digits, "roles": [submit|approve|admin]}; '
                        "make entries with `airlock-runtime token create`"
                    ) from None
                entries.append(_Entry(doc["name"], digest, roles))
            self._entries, self._stamp = entries, stamp
            return entries

    def authenticate(self, token: str) -> Principal | None:
        presented = hashlib.sha256(token.encode("utf-8", "replace")).digest()
        found = None
        for entry in self.entries():  # no early exit: the time taken does not depend on which entry matched
            if hmac.compare_digest(presented, entry.sha256):
                found = entry
        return Principal(found.name, found.roles) if found else None
