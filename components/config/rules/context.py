"""What every rule gets besides the config: the stack's name, region, project and secret keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from components.config.errors import ConfigIssue
from components.config.schema import StackConfig


@dataclass(frozen=True)
class RuleContext:
    stack: str
    region: str | None
    project_dir: Path
    # Top-level keys (``airlock:secrets``) whose value is, or contains, a Pulumi secret.
    secret_keys: frozenset[str] = frozenset()


Rule = Callable[[StackConfig, RuleContext], Iterable[ConfigIssue]]
