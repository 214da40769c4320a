"""The secret history (runtime/secret_history.py) in the table: the HMAC key and the fingerprints.

Nothing is kept on local disk, and every replica must recognise the values any of them was
given, so the key (made once, by the first process: a conditional put) and the fingerprints
are items of partition ``secrets``.
"""

from __future__ import annotations

import secrets as random_source
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from runtime.errors import StateUnusable
from runtime.secret_history import Fingerprint, SecretHistory
from runtime.store_aws import items
from runtime.store_aws.errors import is_condition_failed
from runtime.store_aws.table import New

if TYPE_CHECKING:
    from runtime.store_aws.store import AwsStoreBase


class AwsSecretHistory(SecretHistory):
    def __init__(self, store: AwsStoreBase) -> None:
        self._store = store
        where = f"AIRLOCK_CHECKPOINT_TABLE: {store.settings.table} item secrets/key"
        try:
            store.table.put(New(items.SECRETS, "key", {"key": random_source.token_bytes(32).hex()}))
        except ClientError as exc:
            if not is_condition_failed(exc):
                raise
        row = store.table.get(items.SECRETS, "key")
        try:
            self.key = bytes.fromhex(str(row["key"])) if row else b""
        except ValueError as exc:
            raise StateUnusable(f"{where} is damaged ({exc})") from None
        if len(self.key) != 32:
            raise StateUnusable(f"{where} is damaged (the key is not 32 bytes)")
        found = sorted(store.table.query(items.SECRETS, "fp#"), key=lambda v: (v["recorded_at"], v["mac"]))
        self.entries = [Fingerprint(v["name"], int(v["length"]), int(v["rolling"]), v["mac"]) for v in found]

    def _save(self) -> None:
        from runtime.store import now_iso

        recorded_at = now_iso()
        for e in self.entries:
            try:
                self._store.table.put(New(items.SECRETS, f"fp#{e.length}#{e.mac}", {
                    "name": e.name, "length": e.length, "rolling": e.rolling, "mac": e.mac, "recorded_at": recorded_at}))
            except ClientError as exc:
                if not is_condition_failed(exc):  # known already: keep the first record
                    raise
