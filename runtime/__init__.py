"""Airlock agent runtime: the deterministic code around a stateless model.

The model proposes; the runtime decides what is allowed, executes it exactly once,
records it and stops when the budget says so. See docs/runtime.md.

Tool authors import :class:`ToolContext` from here. The import is lazy so that
``import runtime`` stays cheap for the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["ToolContext"]

if TYPE_CHECKING:
    from runtime.tools import ToolContext


def __getattr__(name: str) -> Any:
    if name == "ToolContext":
        from runtime.tools import ToolContext

        return ToolContext
    raise AttributeError(f"module 'runtime' has no attribute {name!r}")
