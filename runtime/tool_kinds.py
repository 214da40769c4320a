"""Which agent-spec tool keys belong to which tool kind, checked after the schema.

`python` tools name a function (`target`); `sandbox` tools send the model's code to a
sandbox pool's executor (`language`, `pool`, `timeoutSeconds`, `memoryMb`) and never receive
secrets: a sandbox holds no credential, by design (docs/sandboxes.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

DEFAULT_POOL = "default"
PYTHON_ONLY = ("target",)
SANDBOX_ONLY = ("language", "pool", "memoryMb")  # timeoutSeconds applies to both kinds


class _Tool(Protocol):
    # Read-only, so frozen models (ToolSpec) satisfy it.
    @property
    def kind(self) -> str: ...
    @property
    def target(self) -> str | None: ...
    @property
    def secrets(self) -> list[str]: ...
    @property
    def language(self) -> str | None: ...
    @property
    def pool(self) -> str | None: ...
    @property
    def timeout_seconds(self) -> int | None: ...
    @property
    def memory_mb(self) -> int | None: ...


def _set(tool: _Tool, key: str) -> bool:
    attr = {"timeoutSeconds": "timeout_seconds", "memoryMb": "memory_mb"}.get(key, key)
    return getattr(tool, attr) is not None


def tool_kind_problems(tools: Sequence[_Tool]) -> list[tuple[tuple[Any, ...], str]]:
    problems: list[tuple[tuple[Any, ...], str]] = []
    for i, tool in enumerate(tools):
        if tool.kind == "python":
            if tool.target is None:
                problems.append((("tools", i, "target"), "is required for kind python: `module:function`"))
            for key in SANDBOX_ONLY:
                if _set(tool, key):
                    problems.append((("tools", i, key), "applies to kind sandbox only; this tool is kind python"))
            continue
        if tool.target is not None:
            problems.append((("tools", i, "target"), "applies to kind python only; a sandbox tool runs the model's code"))
        if tool.language is None:
            problems.append((("tools", i, "language"), "is required for kind sandbox; allowed: python, bash"))
        if tool.secrets:
            problems.append(
                (
                    ("tools", i, "secrets"),
                    f"{tool.secrets!r}: a sandbox tool never receives secrets (sandboxes hold no credential); "
                    "give the secret to a python tool instead",
                )
            )
    return problems


def pool_of(tool: _Tool) -> str:
    return tool.pool or DEFAULT_POOL
