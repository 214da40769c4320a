"""Secret values in stack files (``secure: v1:...``) between two refs: which changed, by key
path only. Neither the value nor its ciphertext is ever reported."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Iterator

from runtime.yaml_safe import load_text


def _secure_leaves(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            yield path, hashlib.sha256(str(value["secure"]).encode()).hexdigest()
            return
        for key, item in value.items():
            yield from _secure_leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _secure_leaves(item, f"{path}[{index}]")


def secure_values(stack_file: Path) -> dict[str, str]:
    """Key path -> a digest of the ciphertext (compared, never shown)."""
    if not stack_file.is_file():
        return {}
    document = load_text(stack_file.read_text()) or {}
    return dict(_secure_leaves(document.get("config") or {}, ""))


def changed_secrets(base_file: Path, head_file: Path) -> list[tuple[str, str]]:
    """(key path, "added" | "removed" | "changed") for secret values that differ."""
    before, after = secure_values(base_file), secure_values(head_file)
    result = []
    for key in sorted(set(before) | set(after)):
        if key not in before:
            result.append((key, "added"))
        elif key not in after:
            result.append((key, "removed"))
        elif before[key] != after[key]:
            result.append((key, "changed"))
    return result
