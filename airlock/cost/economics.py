"""Self-hosted against API, per local model (the formulas of REFERENCE.md):

    replica $/h           = instance $/h x GPUs per replica / GPUs per node
    capacity tokens/day   = replicas x tokens/s x utilisation x 86,400
    self-hosted $/1M      = replica $/h / (tokens/s x utilisation x 3,600 / 1e6)
    monthly $             = replicas x replica $/h x hours per month (idle included)
    API $/1M (blended)    = output price + input ratio x input price
                            (each output token arrives with `input ratio` prompt tokens)
    break-even tokens/day = monthly $ / (API $/1M / 1e6) / days per month

Tokens are output (generated) tokens: what the published throughput figures count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from airlock.cost.bundle_facts import BundleFacts, LocalModel
from airlock.cost.catalog import Catalog
from airlock.cost.errors import CostError
from airlock.cost.throughput import ThroughputFigure, replica_throughput

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Assumptions:
    utilisation: float
    input_ratio: float
    tokens_per_day: float | None
    planner_share: float


@dataclass(frozen=True)
class AtVolume:
    tokens_per_day: float
    replicas_needed: int
    beyond_max_replicas: bool
    local_monthly_usd: float
    api_monthly_usd: float


@dataclass(frozen=True)
class ModelEconomics:
    name: str
    weights: str
    params_b: float
    precision: str
    gpu: str
    instance_type: str
    gpus_per_node: int
    gpus_per_replica: int
    replicas: int
    max_replicas: int
    replica_usd_per_hour: float
    throughput: ThroughputFigure
    capacity_tokens_per_day: float
    self_hosted_usd_per_million: float
    monthly_usd: float
    api_model: str
    api_usd_per_million_input: float
    api_usd_per_million_output: float
    api_blended_usd_per_million: float
    break_even_tokens_per_day: float
    at_volume: AtVolume | None
    sources: tuple[str, ...]

    @property
    def breaks_even_within_capacity(self) -> bool:
        return self.break_even_tokens_per_day <= self.capacity_tokens_per_day

    def replica_capacity_per_day(self, utilisation: float) -> float:
        return self.throughput.tokens_per_s * utilisation * SECONDS_PER_DAY


def blended_per_million(input_price: float, output_price: float, input_ratio: float) -> float:
    return output_price + input_ratio * input_price


def api_tier(catalog: Catalog, params_b: float) -> str:
    for tier in sorted(catalog.api_tiers, key=lambda t: t.max_params_b):
        if params_b <= tier.max_params_b:
            return tier.model
    raise CostError(f"no api_tiers entry covers a {params_b:g}B model; add one with --prices")


def model_economics(facts: BundleFacts, catalog: Catalog, model: LocalModel, assumptions: Assumptions) -> ModelEconomics:
    pools = {g.gpu_pool: g for g in facts.node_groups if g.gpu_pool}
    if model.gpu_pool not in pools:
        raise CostError(f"model {model.name} runs on GPU pool '{model.gpu_pool}', which has no node group in the bundle")
    group = pools[model.gpu_pool]
    used_by = f"model {model.name} (node group {group.name})"
    price = catalog.instance_price(facts.region or "", group.instance_type, used_by)
    node = catalog.instance_facts(group.instance_type, used_by)
    if not node.gpus or not node.gpu:
        raise CostError(f"{used_by}: instance type {group.instance_type} has no GPUs in instance_types")
    if model.params_b is None:
        replica_throughput(catalog, model, node.gpu)  # raises the error naming the model
    assert model.params_b is not None
    u = assumptions.utilisation
    replica_hourly = price.usd_per_hour * model.gpus_per_replica / node.gpus
    figure = replica_throughput(catalog, model, node.gpu)
    capacity = model.replicas * figure.tokens_per_s * u * SECONDS_PER_DAY
    self_hosted = replica_hourly / (figure.tokens_per_s * u * 3600 / 1e6)
    monthly = model.replicas * replica_hourly * catalog.hours_per_month
    tier_key = api_tier(catalog, model.params_b)
    tier = catalog.models[tier_key]
    blended = blended_per_million(tier.usd_per_million_input, tier.usd_per_million_output, assumptions.input_ratio)
    break_even = monthly / (blended / 1e6) / catalog.days_per_month
    at_volume = None
    if assumptions.tokens_per_day is not None:
        n = assumptions.tokens_per_day
        per_replica = figure.tokens_per_s * u * SECONDS_PER_DAY
        needed = max(model.replicas, math.ceil(n / per_replica))
        at_volume = AtVolume(
            tokens_per_day=n,
            replicas_needed=needed,
            beyond_max_replicas=needed > model.max_replicas,
            local_monthly_usd=needed * replica_hourly * catalog.hours_per_month,
            api_monthly_usd=n * catalog.days_per_month * blended / 1e6,
        )
    return ModelEconomics(
        name=model.name, weights=model.weights, params_b=model.params_b, precision=model.precision,
        gpu=node.gpu, instance_type=group.instance_type, gpus_per_node=node.gpus,
        gpus_per_replica=model.gpus_per_replica, replicas=model.replicas, max_replicas=model.max_replicas,
        replica_usd_per_hour=replica_hourly, throughput=figure, capacity_tokens_per_day=capacity,
        self_hosted_usd_per_million=self_hosted, monthly_usd=monthly, api_model=tier_key,
        api_usd_per_million_input=tier.usd_per_million_input, api_usd_per_million_output=tier.usd_per_million_output,
        api_blended_usd_per_million=blended, break_even_tokens_per_day=break_even, at_volume=at_volume,
        sources=tuple(sorted({price.source, node.source, figure.source, tier.source})),
    )
