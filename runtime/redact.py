"""Secret redaction: one object that knows every secret value of the current run.

Everything that leaves a tool or a model (results, errors, model text, tool-call
arguments) passes through :meth:`Redactor.text` before it reaches the model, a
checkpoint, the audit log, telemetry or the terminal. Values are matched verbatim and
in their JSON-escaped form (a secret with a quote or backslash looks different inside
serialized JSON). Longer values are matched first so that a secret containing another
is replaced whole.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any

from runtime.models.base import ModelResponse, ToolCall


def placeholder(name: str) -> str:
    return f"[REDACTED:{name}]"


class Redactor:
    def __init__(self, secrets: Mapping[str, str] | None = None) -> None:
        self.values: dict[str, str] = {name: value for name, value in (secrets or {}).items() if value}
        self._retired: Any = None  # runtime.secret_history.RetiredValues, once known
        self._by_needle: dict[str, str] = {}
        for name, value in (secrets or {}).items():
            if not value:
                continue  # an empty secret would match everywhere and protects nothing
            for needle in {value, json.dumps(value, ensure_ascii=False)[1:-1], json.dumps(value)[1:-1]}:
                self._by_needle.setdefault(needle, placeholder(name))
        needles = sorted(self._by_needle, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(n) for n in needles)) if needles else None

    def __bool__(self) -> bool:
        return self._pattern is not None or bool(self._retired)

    def retire(self, retired: Any) -> None:
        """Also redact earlier values of these secrets (see runtime.secret_history)."""
        self._retired = retired if retired else None

    def text(self, value: str) -> str:
        if not value:
            return value
        if self._pattern is not None:
            value = self._pattern.sub(lambda m: self._by_needle[m.group(0)], value)
        if self._retired is not None:
            value = self._retired.redact(value, lambda name: placeholder(f"{name} (earlier value)"))
        return value

    def response(self, response: ModelResponse) -> ModelResponse:
        """A model response with every string the model or its server chose redacted: text,
        tool-call ids, names and arguments, the response id, the model name, the finish reason.
        Applied once, as the response enters the loop, so nothing downstream (state, audit,
        spans, span names, metric labels, the terminal) ever holds the unredacted form."""
        if not self:
            return response
        return dataclasses.replace(
            response,
            text=self.text(response.text),
            tool_calls=tuple(ToolCall(self.text(c.id), self.text(c.name), self.text(c.arguments)) for c in response.tool_calls),
            finish_reason=self.text(response.finish_reason) if response.finish_reason else response.finish_reason,
            response_id=self.text(response.response_id) if response.response_id else response.response_id,
            response_model=self.text(response.response_model) if response.response_model else response.response_model,
            raw={},  # the wire form is never kept past this point
        )

    def value(self, obj: Any) -> Any:
        """Redact every string inside a JSON-like value (dict keys included)."""
        if not self:
            return obj
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, dict):
            return {self.value(k): self.value(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self.value(v) for v in obj]
        return obj
