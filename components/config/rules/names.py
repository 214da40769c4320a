"""Names that must be unique: pools, sandboxes, secrets and model routes."""

from __future__ import annotations

from collections import Counter
from typing import Iterator

from components.config.errors import ConfigIssue, key_path
from components.config.rules.context import RuleContext
from components.config.schema import StackConfig


def unique_names(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    groups: list[tuple[str, list[str]]] = [
        ("gpuPools", [p.name for p in config.gpu_pools]),
        ("sandboxes", [s.name for s in config.sandboxes]),
        ("secrets", [s.name for s in config.secrets]),
    ]
    for key, names in groups:
        yield from duplicate_names((key,), names, f"{key} names must be unique", leaf="name")
    # Local and cloud models share one namespace: the agent spec routes by these names.
    routes = [(("models", i), m.name) for i, m in enumerate(config.models)]
    routes += [(("cloudModels", i), m.name) for i, m in enumerate(config.cloud_models)]
    seen: dict[str, tuple] = {}
    for where, name in routes:
        if name in seen:
            yield ConfigIssue(
                key_path(*where, "name"), name, f"already used by {key_path(*seen[name])}; model names (local and cloud) must be unique"
            )
        else:
            seen[name] = where


def duplicate_names(parts: tuple[str, ...], names: list[str], message: str, leaf: str | None = None) -> Iterator[ConfigIssue]:
    """Report the second occurrence of each repeated name (the first one is the keeper)."""
    counts = Counter(names)
    reported: set[str] = set()
    for i, name in enumerate(names):
        if counts[name] > 1 and name not in reported and names.index(name) != i:
            reported.add(name)
            where = key_path(*parts, i, leaf) if leaf else key_path(*parts, i)
            yield ConfigIssue(where, name, f"{message}; '{name}' appears {counts[name]} times")
