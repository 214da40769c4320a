"""``AIRLOCK_STORE=postgresql://user@host:port/db``: parse it, read the password from its secret file.

The password never lives in the URL (config and process listings leak URLs); it is read
from the file named by ``AIRLOCK_STORE_PASSWORD_FILE`` (a mounted Kubernetes Secret), so
rotating it is a file change. A URL carrying a password is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from runtime.errors import BadInput

PASSWORD_FILE_ENV = "AIRLOCK_STORE_PASSWORD_FILE"
SCHEMES = ("postgresql", "postgres")
ALLOWED_QUERY = frozenset({"sslmode", "sslrootcert", "connect_timeout", "application_name"})
_SHAPE = "postgresql://USER@HOST[:PORT]/DATABASE (password in the file named by " + PASSWORD_FILE_ENV + ")"


@dataclass(frozen=True)
class PgTarget:
    user: str
    host: str
    port: int
    dbname: str
    options: dict[str, str]

    @property
    def display(self) -> str:
        """The URL without secrets, for messages and logs."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"

    def conninfo(self) -> dict[str, str | int]:
        kwargs: dict[str, str | int] = {
            "user": self.user, "host": self.host, "port": self.port, "dbname": self.dbname, **self.options
        }
        password = read_password()
        if password is not None:
            kwargs["password"] = password
        return kwargs


def parse_url(url: str) -> PgTarget:
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise BadInput(f"AIRLOCK_STORE: {url!r} is not a PostgreSQL URL; use {_SHAPE}")
    if parts.password is not None:
        raise BadInput(
            "AIRLOCK_STORE: the URL carries a password; remove it and put the password in a file named by "
            f"{PASSWORD_FILE_ENV} (a mounted secret), so config never holds it"
        )
    if not parts.username:
        raise BadInput(f"AIRLOCK_STORE: {_redacted(url)!r} names no user; use {_SHAPE}")
    if not parts.hostname:
        raise BadInput(f"AIRLOCK_STORE: {_redacted(url)!r} names no host; use {_SHAPE}")
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname or "/" in dbname:
        raise BadInput(f"AIRLOCK_STORE: {_redacted(url)!r} names no database; use {_SHAPE}")
    try:
        port = parts.port or 5432
    except ValueError:
        raise BadInput(f"AIRLOCK_STORE: {_redacted(url)!r} has a bad port; use a number from 1 to 65535") from None
    options: dict[str, str] = {}
    for key, values in parse_qs(parts.query, keep_blank_values=True).items():
        if key not in ALLOWED_QUERY:
            raise BadInput(
                f"AIRLOCK_STORE: query parameter {key!r} is not allowed; allowed: {', '.join(sorted(ALLOWED_QUERY))}"
            )
        options[key] = values[-1]
    host = unquote(parts.hostname) if parts.hostname else ""
    return PgTarget(user=unquote(parts.username), host=host, port=port, dbname=dbname, options=options)


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    return url.replace(parts.password, "***") if parts.password else url


def read_password() -> str | None:
    """The password from the secret file, or None when no file is configured (peer or trust auth)."""
    name = os.environ.get(PASSWORD_FILE_ENV, "").strip()
    if not name:
        return None
    path = Path(name)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{PASSWORD_FILE_ENV}: cannot read {name!r}: {exc.strerror or exc}") from None
    password = text.rstrip("\r\n")
    if not password:
        raise BadInput(f"{PASSWORD_FILE_ENV}: {name!r} is empty; it must hold the database password")
    return password
