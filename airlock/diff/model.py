"""What ``airlock diff`` reports: resources added, removed and changed (with property paths),
each change classified as broadening, narrowing or neutral, with the reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Effect = Literal["broadening", "narrowing", "neutral"]
Action = Literal["added", "removed", "changed"]
EFFECT_RANK = {"neutral": 0, "narrowing": 1, "broadening": 2}


@dataclass(frozen=True, order=True)
class Classified:
    """One security-relevant effect of a change: where (property path), which class, what."""

    path: str
    effect: Effect
    area: str
    detail: str


@dataclass(frozen=True)
class PathChange:
    path: str
    effect: Effect
    summary: str  # "old -> new" for short plain values, else a description; never a secret value


@dataclass
class ResourceChange:
    key: str
    label: str
    type: str
    action: Action
    paths: list[PathChange] = field(default_factory=list)
    effects: list[Classified] = field(default_factory=list)

    @property
    def effect(self) -> Effect:
        ranked = [e.effect for e in self.effects] + [p.effect for p in self.paths]
        return max(ranked, key=EFFECT_RANK.__getitem__, default="neutral")

    def as_dict(self) -> dict[str, Any]:
        return {
            "resource": self.label,
            "key": self.key,
            "type": self.type,
            "action": self.action,
            "effect": self.effect,
            "paths": [{"path": p.path, "effect": p.effect, "change": p.summary} for p in self.paths],
            "effects": [{"path": e.path, "effect": e.effect, "class": e.area, "detail": e.detail} for e in self.effects],
        }
