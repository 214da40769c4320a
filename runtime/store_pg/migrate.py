"""Versioned migrations: numbered SQL files applied once each, recorded in ``schema_migrations``.

Files are ``migrations/NNNN_name.sql``; the missing ones run in one transaction with their rows in
``schema_migrations``, under an advisory lock so replicas starting together apply it once.
A database that has migrations this runtime does not know (a newer runtime wrote it) is refused.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

from runtime.errors import BadInput

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x41_49_52_4C  # "AIRL": one advisory lock id for migrations


def available() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration shipped with this runtime, in order."""
    found = []
    for entry in resources.files("runtime.store_pg").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise RuntimeError(f"store_pg migrations are not numbered 1..N: {versions}")
    return found


def migrate(conn: Any, where: str) -> list[int]:
    """Apply what is missing; returns the versions applied now."""
    applied_now = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        shipped = available()
        unknown = sorted(done - {v for v, _, _ in shipped})
        if unknown:
            raise BadInput(
                f"AIRLOCK_STORE: {where} has schema migrations {unknown} this runtime does not know "
                f"(it knows 1..{len(shipped)}); run a runtime at least as new as the one that wrote it"
            )
        for version, name, sql in shipped:
            if version in done:
                continue
            conn.execute(sql)
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))
            applied_now.append(version)
    return applied_now
