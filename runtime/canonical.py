"""Canonical JSON and hashing, shared by the audit chain and the agent version.

One definition so that two components hashing "the same thing" agree byte for byte:
keys sorted, no insignificant whitespace, UTF-8, NaN/Infinity refused.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=str)


def sha256_hex(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()
