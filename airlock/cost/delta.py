"""The monthly delta of a change: the same stack priced at a base ref and now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airlock.cost.report import CostReport


@dataclass(frozen=True)
class CostDelta:
    base_ref: str
    base_monthly_usd: float
    head_monthly_usd: float
    groups: dict[str, tuple[float, float]]

    @property
    def monthly_delta_usd(self) -> float:
        return self.head_monthly_usd - self.base_monthly_usd

    def to_dict(self) -> dict[str, Any]:
        return {
            "base_ref": self.base_ref,
            "base_monthly_usd": round(self.base_monthly_usd, 2),
            "head_monthly_usd": round(self.head_monthly_usd, 2),
            "monthly_delta_usd": round(self.monthly_delta_usd, 2),
            "groups": {g: {"base": round(b, 2), "head": round(h, 2), "delta": round(h - b, 2)} for g, (b, h) in self.groups.items()},
        }


def cost_delta(base_ref: str, base: CostReport, head: CostReport) -> CostDelta:
    before, after = base.groups(), head.groups()
    names = list(dict.fromkeys([*before, *after]))
    return CostDelta(base_ref, base.monthly_usd, head.monthly_usd, {g: (before.get(g, 0.0), after.get(g, 0.0)) for g in names})
