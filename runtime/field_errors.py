"""Pydantic validation errors as key paths and messages: one way for every input Airlock reads.

Both the agent spec (``runtime/spec.py``: ``tools[1].policy``) and the stack config
(``components/config/loader.py``: ``airlock:models[1].tensorParallelSize``) turn a
``ValidationError`` into one problem per key with this module, so a wrong key, a missing
one or a bad value reads the same everywhere. It lives on the runtime side because the
runtime must not import the deployment kit (the kit may import the runtime), and it
depends on pydantic alone.

Messages say what is wrong without the value: each caller shows the value in its own
layout (the spec inline, the stack config as ``key = value: message``).
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class FieldError:
    """One invalid key: where (``loc``, as pydantic reports it), what pydantic saw, and why."""

    loc: Loc
    kind: str  # pydantic's error type: 'extra_forbidden', 'missing', 'literal_error', ...
    value: Any  # the input at ``loc`` (None when the key is missing)
    message: str  # what is wrong and what is allowed, without the key path or the value

    @property
    def path(self) -> str:
        return format_path(self.loc)


def format_path(loc: Sequence[str | int]) -> str:
    """``("models", 1, "tensorParallelSize")`` -> ``models[1].tensorParallelSize``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def keys_of(model: type[BaseModel]) -> list[str]:
    """The keys a user writes for ``model`` (aliases), in declaration order."""
    return [field.alias or name for name, field in model.model_fields.items()]


def field_at(model: type[BaseModel], key: str | int) -> FieldInfo | None:
    return next((f for n, f in model.model_fields.items() if (f.alias or n) == key), None)


def model_at(root: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model class at ``loc`` under ``root`` (list indexes and dict keys pass through)."""
    model: type[BaseModel] | None = root
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        field = field_at(model, part)
        if field is None:
            return None
        model = _inner_model(field.annotation)
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def is_secret_at(root: type[BaseModel], loc: Sequence[str | int]) -> bool:
    """Whether the key at ``loc`` holds a SecretStr, so its value must never be shown."""
    if not loc or isinstance(loc[-1], int):
        return False
    parent = model_at(root, loc[:-1])
    field = field_at(parent, loc[-1]) if parent is not None else None
    if field is None:
        return False
    return field.annotation is SecretStr or SecretStr in typing.get_args(field.annotation)


def unknown_key_message(root: type[BaseModel], loc: Sequence[str | int]) -> str:
    """``unknown key; did you mean 'gpusPerNode'? allowed keys: ...`` for the key at ``loc``."""
    parent = model_at(root, loc[:-1])
    if parent is None:
        return "unknown key"
    allowed = keys_of(parent)
    name = str(loc[-1])
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    close = close or [key for key in allowed if key.lower() == name.lower()]
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown key; {hint}allowed keys: {', '.join(allowed)}"


def field_errors(
    error: ValidationError, root: type[BaseModel], pattern_meanings: Mapping[str, str] | None = None
) -> list[FieldError]:
    """Every problem of ``error`` (raised validating ``root``), in pydantic's order.

    ``pattern_meanings`` maps a field's regular expression to words ("a Kubernetes quantity
    such as 500m"); a pattern without words is quoted as is.
    """
    meanings = pattern_meanings or {}
    found = []
    for item in error.errors(include_url=False):
        loc: Loc = tuple(item["loc"])
        if loc and loc[-1] == "[key]":  # an error in a mapping's key: the path ends at that key
            loc = loc[:-1]
        kind = item["type"]
        value = None if kind == "missing" else item.get("input")
        found.append(FieldError(loc, kind, value, _message(item, root, meanings)))
    return found


def _message(item: Mapping[str, Any], root: type[BaseModel], meanings: Mapping[str, str]) -> str:
    kind = item["type"]
    ctx = item.get("ctx") or {}
    if item.get("input", "") is None and kind not in ("missing", "extra_forbidden", "value_error"):
        # YAML null where a value belongs: say so, rather than "must be a valid dictionary"
        wanted = str(item["msg"]).replace("Input should be ", "", 1)
        return f"is null; allowed: {wanted}"
    if kind == "extra_forbidden":
        return unknown_key_message(root, tuple(item["loc"]))
    if kind == "missing":
        return "required key is missing"
    if kind == "literal_error":
        return f"is not allowed; allowed: {ctx.get('expected', '')}"
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        return f"must be {meanings[pattern]}" if pattern in meanings else f"does not match the allowed form {pattern}"
    if kind == "value_error":
        return str(ctx.get("error", item["msg"]))
    if kind == "model_type":
        return "expected a mapping of keys"
    return str(item["msg"]).replace("Input should be", "must be", 1)
