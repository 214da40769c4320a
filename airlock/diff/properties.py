"""Property-level differences between two resources' inputs, with paths; values are shown
only when short, single-line and not secret."""

from __future__ import annotations

from typing import Any, Iterator

SECRET_MASK = "[secret]"
MAX_SHOWN = 80


def leaf_changes(old: Any, new: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(path, old, new) for every leaf that differs; missing values are None."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            yield from leaf_changes(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new)):
            yield from leaf_changes(a, b, f"{path}[{index}]")
    elif old != new:
        yield path, old, new


def _shown(value: Any) -> str | None:
    if value is None:
        return "(unset)"
    if isinstance(value, (dict, list)):
        return None
    text = str(value)
    if "\n" in text or len(text) > MAX_SHOWN or text.lstrip().startswith("{"):
        return None
    return text


def summarize(old: Any, new: Any, secret: bool) -> str:
    if secret or SECRET_MASK in (old, new):
        return "changed (secret: value not shown)"
    a, b = _shown(old), _shown(new)
    if a is not None and b is not None:
        return f"{a} -> {b}"
    return "changed (structured or multi-line value; see the effects)" if old is not None and new is not None else ("added" if old is None else "removed")
