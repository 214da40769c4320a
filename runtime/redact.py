"""Secret redaction: one object that knows every secret value of the current run.

Everything that leaves a tool or a model (results, errors, model text, tool-call
arguments) passes through :meth:`Redactor.text` before it reaches the model, a
checkpoint, the audit log, telemetry or the terminal. Values are matched verbatim and
in their JSON-escaped form (a secret with a quote or backslash looks different inside
serialized JSON). Longer values are matched first so that a secret containing another
is replaced whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any


def placeholder(name: str) -> str:
    return f"[REDACTED:{name}]"


class Redactor:
    def __init__(self, secrets: Mapping[str, str] | None = None) -> None:
        self._by_needle: dict[str, str] = {}
        for name, value in (secrets or {}).items():
            if not value:
                continue  # an empty secret would match everywhere and protects nothing
            for needle in {value, json.dumps(value, ensure_ascii=False)[1:-1], json.dumps(value)[1:-1]}:
                self._by_needle.setdefault(needle, placeholder(name))
        needles = sorted(self._by_needle, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(n) for n in needles)) if needles else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, value: str) -> str:
        if self._pattern is None or not value:
            return value
        return self._pattern.sub(lambda m: self._by_needle[m.group(0)], value)

    def value(self, obj: Any) -> Any:
        """Redact every string inside a JSON-like value (dict keys included)."""
        if self._pattern is None:
            return obj
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, dict):
            return {self.value(k): self.value(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self.value(v) for v in obj]
        return obj
