"""The secret history (runtime/secret_history.py) in PostgreSQL: tables, not a local file.

A PostgreSQL store keeps nothing on local disk, and every process on the database (on any
host) must recognise the values any of them was given, so the HMAC key and the
fingerprints live in ``secret_history_key`` and ``secret_fingerprints``.
"""

from __future__ import annotations

import secrets as random_source
from typing import TYPE_CHECKING

from runtime.errors import StateUnusable
from runtime.secret_history import Fingerprint, SecretHistory
from runtime.store import now_iso

if TYPE_CHECKING:
    from runtime.store_pg.store import PostgresStore


class PgSecretHistory(SecretHistory):
    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        where = f"AIRLOCK_STORE: {store.target.display} table secret_history_key"
        with store.transaction() as cur:
            # The first process to need a key makes it; everyone else reads that one.
            cur.execute(
                "INSERT INTO secret_history_key (id, key) VALUES (1, ?) ON CONFLICT (id) DO NOTHING",
                (random_source.token_bytes(32).hex(),),
            )
            row = cur.execute("SELECT key FROM secret_history_key WHERE id=1").fetchone()
            rows = cur.execute("SELECT name, length, rolling, mac FROM secret_fingerprints ORDER BY recorded_at, mac").fetchall()
        try:
            self.key = bytes.fromhex(str(row[0])) if row else b""
        except ValueError as exc:
            raise StateUnusable(f"{where} is damaged ({exc})") from None
        if len(self.key) != 32:
            raise StateUnusable(f"{where} is damaged (the key is not 32 bytes)")
        self.entries = [Fingerprint(str(n), int(length), int(rolling), str(mac)) for n, length, rolling, mac in rows]

    def _save(self) -> None:
        recorded_at = now_iso()
        with self._store.transaction() as cur:
            cur.executemany(
                "INSERT INTO secret_fingerprints (length, mac, name, rolling, recorded_at) VALUES (?,?,?,?,?)"
                " ON CONFLICT (length, mac) DO NOTHING",
                [(e.length, e.mac, e.name, e.rolling, recorded_at) for e in self.entries],
            )
