"""One cost report for a bundle: infrastructure by group, local models against APIs, the
traffic split, the sources behind every figure. ``build_report`` is the whole computation;
renderers only format it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from airlock.cost.bundle_facts import BundleFacts
from airlock.cost.catalog import Catalog
from airlock.cost.economics import Assumptions, ModelEconomics, model_economics
from airlock.cost.infra import LineItem, UsageItem, price_infrastructure
from airlock.cost.traffic import RouteShare, traffic_split


@dataclass(frozen=True)
class CostReport:
    stack: str
    platform: str
    profile: str
    region: str
    catalog_date: str
    hours_per_month: float
    assumptions: Assumptions
    items: list[LineItem]
    usage: list[UsageItem]
    unpriced_types: list[str]
    models: list[ModelEconomics]
    traffic: list[RouteShare]
    sources: dict[str, dict[str, str]]

    @property
    def monthly_usd(self) -> float:
        return sum(i.monthly_usd for i in self.items)

    @property
    def monthly_max_usd(self) -> float:
        return sum(i.monthly_max_usd for i in self.items)

    def groups(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for item in self.items:
            out[item.group] = out.get(item.group, 0.0) + item.monthly_usd
        return out

    @property
    def api_monthly_usd(self) -> float:
        return sum(r.monthly_usd or 0 for r in self.traffic if r.kind == "cloud")

    @property
    def hybrid(self) -> bool:
        return {r.kind for r in self.traffic} == {"cloud", "local"}

    def to_dict(self) -> dict[str, Any]:
        models = []
        for m in self.models:
            entry = asdict(m)
            entry["breaks_even_within_capacity"] = m.breaks_even_within_capacity
            models.append(entry)
        return {
            "stack": self.stack, "platform": self.platform, "profile": self.profile, "region": self.region,
            "currency": "USD", "catalog_date": self.catalog_date, "hours_per_month": self.hours_per_month,
            "assumptions": asdict(self.assumptions),
            "monthly_usd": round(self.monthly_usd, 2), "monthly_max_usd": round(self.monthly_max_usd, 2),
            "groups": {k: round(v, 2) for k, v in self.groups().items()},
            "items": [asdict(i) for i in self.items],
            "usage_priced": [asdict(u) for u in self.usage],
            "unpriced_types": self.unpriced_types,
            "models": models,
            "traffic": [asdict(r) for r in self.traffic],
            "api_monthly_usd": round(self.api_monthly_usd, 2) if self.assumptions.tokens_per_day is not None else None,
            "sources": self.sources,
        }


def build_report(facts: BundleFacts, catalog: Catalog, assumptions: Assumptions) -> CostReport:
    items, usage, unpriced = price_infrastructure(facts, catalog)
    models = [model_economics(facts, catalog, m, assumptions) for m in facts.models]
    traffic = traffic_split(facts, catalog, {m.name: m for m in models}, assumptions)
    used = {i.source for i in items} | {u.source for u in usage if u.source} | {r.source for r in traffic}
    for m in models:
        used.update(m.sources)
    sources = {key: {"title": s.title, "url": s.url, "retrieved": s.retrieved.isoformat()} for key, s in sorted(catalog.sources.items()) if key in used}
    return CostReport(
        stack=facts.stack, platform=facts.platform, profile=facts.profile, region=facts.region or "",
        catalog_date=catalog.catalog_date.isoformat(), hours_per_month=catalog.hours_per_month,
        assumptions=assumptions, items=items, usage=usage, unpriced_types=unpriced,
        models=models, traffic=traffic, sources=sources,
    )
