"""How the agent's traffic splits between its routes: the planner route (cloud in a hybrid
stack) takes ``planner_share`` of the output tokens, the default route (the local
implementers) the rest. Cloud routes cost their API price per token; local routes cost the
GPU replicas the volume needs (the fixed part of the bill)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from airlock.cost.bundle_facts import BundleFacts
from airlock.cost.catalog import Catalog
from airlock.cost.economics import SECONDS_PER_DAY, Assumptions, ModelEconomics, blended_per_million
from airlock.cost.errors import CostError


@dataclass(frozen=True)
class RouteShare:
    route: str
    kind: str
    target: str
    share: float
    usd_per_million: float
    tokens_per_day: float | None
    monthly_usd: float | None
    api_alternative_monthly_usd: float | None
    source: str


def traffic_split(facts: BundleFacts, catalog: Catalog, economics: dict[str, ModelEconomics], assumptions: Assumptions) -> list[RouteShare]:
    routes = {r.name: r for r in facts.routes}
    if not routes:
        return []
    has_planner = "planner" in routes and "default" in routes
    shares = {"planner": assumptions.planner_share, "default": 1 - assumptions.planner_share} if has_planner else {
        ("default" if "default" in routes else sorted(routes)[0]): 1.0
    }
    n = assumptions.tokens_per_day
    out = []
    for name, share in shares.items():
        route = routes[name]
        tokens = None if n is None else n * share
        if route.local:
            model = economics.get(route.model)
            if model is None:
                raise CostError(f"agent route '{name}' calls local model '{route.model}', which the bundle does not serve")
            monthly = alternative = None
            if tokens is not None:
                per_replica = model.throughput.tokens_per_s * assumptions.utilisation * SECONDS_PER_DAY
                needed = max(model.replicas, math.ceil(tokens / per_replica))
                monthly = needed * model.replica_usd_per_hour * catalog.hours_per_month
                alternative = tokens * catalog.days_per_month * model.api_blended_usd_per_million / 1e6
            out.append(RouteShare(name, "local", f"{model.name} on {model.gpus_per_replica}x{model.gpu}", share,
                                  model.self_hosted_usd_per_million, tokens, monthly, alternative, model.throughput.source))
        else:
            key, price = catalog.model_price(route.provider, route.model, f"agent route '{name}'")
            blended = blended_per_million(price.usd_per_million_input, price.usd_per_million_output, assumptions.input_ratio)
            monthly = None if tokens is None else tokens * catalog.days_per_month * blended / 1e6
            out.append(RouteShare(name, "cloud", key, share, blended, tokens, monthly, monthly, price.source))
    return out
