"""The price catalog: ``prices.yaml`` (shipped) merged with an optional ``--prices`` file,
validated once with pydantic so that a malformed file names the field at fault."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from airlock.cost.errors import CostError
from runtime import yaml_safe

SHIPPED_CATALOG = Path(__file__).resolve().parent / "prices.yaml"

Price = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    title: str
    url: str
    retrieved: date


class Sourced(_Strict):
    source: str
    note: str | None = None


class InstancePrice(Sourced):
    usd_per_hour: Price


class HourlyPrice(Sourced):
    usd_per_hour: Price


class NatPrice(Sourced):
    usd_per_hour: Price
    usd_per_gb: Price


class EndpointPrice(Sourced):
    usd_per_hour_per_az: Price
    usd_per_gb: Price


class GbMonthPrice(Sourced):
    usd_per_gb_month: Price


class MonthlyPrice(Sourced):
    usd_per_month: Price
    usd_per_10k_calls: Price | None = None


class RequestPrice(Sourced):
    usd_per_million_requests: Price


class DynamoPrice(Sourced):
    usd_per_million_writes: Price
    usd_per_million_reads: Price


class LogsPrice(Sourced):
    usd_per_gb_ingested: Price


class RegionPrices(_Strict):
    instances: dict[str, InstancePrice] = {}
    eks_cluster: HourlyPrice | None = None
    nat_gateway: NatPrice | None = None
    interface_endpoint: EndpointPrice | None = None
    ebs_gp3: GbMonthPrice | None = None
    kms_key: MonthlyPrice | None = None
    secrets_manager_secret: MonthlyPrice | None = None
    sqs_standard: RequestPrice | None = None
    dynamodb_on_demand: DynamoPrice | None = None
    cloudwatch_logs: LogsPrice | None = None


class InstanceFacts(Sourced):
    gpus: Annotated[int, Field(ge=0)]
    gpu: str | None = None


class GpuFacts(Sourced):
    memory_bandwidth_gb_s: Positive


class Throughput(Sourced):
    params_b: Positive
    gpu: str
    tensor_parallel: Annotated[int, Field(ge=1)]
    precision: str
    mixture_of_experts: bool = False
    output_tokens_per_s: Positive
    conditions: str


class ModelPrice(Sourced):
    usd_per_million_input: Price
    usd_per_million_output: Price


class ApiTier(_Strict):
    max_params_b: Positive
    model: str


class Catalog(_Strict):
    catalog_date: date
    currency: str
    hours_per_month: Positive
    sources: dict[str, Source]
    regions: dict[str, RegionPrices]
    instance_types: dict[str, InstanceFacts] = {}
    gpus: dict[str, GpuFacts] = {}
    throughput: list[Throughput] = []
    models: dict[str, ModelPrice] = {}
    api_tiers: list[ApiTier] = []

    @model_validator(mode="after")
    def _sources_exist(self) -> "Catalog":
        # Every figure must point at a listed source: a figure without one is not allowed in.
        for path, figure in _figures(self):
            if figure.source not in self.sources:
                raise ValueError(f"{path}.source: '{figure.source}' is not a key of sources ({', '.join(sorted(self.sources))})")
        for tier in self.api_tiers:
            if tier.model not in self.models:
                raise ValueError(f"api_tiers: model '{tier.model}' has no entry in models")
        return self

    @property
    def days_per_month(self) -> float:
        return self.hours_per_month / 24

    def region(self, name: str) -> RegionPrices:
        if name not in self.regions:
            raise CostError(f"no prices for region '{name}' (the catalog has: {', '.join(sorted(self.regions))}); add regions.{name} with --prices")
        return self.regions[name]

    def instance_price(self, region: str, instance_type: str, used_by: str) -> InstancePrice:
        prices = self.region(region).instances
        if instance_type not in prices:
            raise CostError(
                f"no price for instance type '{instance_type}' in {region} (used by {used_by}); "
                f"add regions.{region}.instances.{instance_type}.usd_per_hour with --prices"
            )
        return prices[instance_type]

    def service_price(self, region: str, key: str, used_by: str) -> Any:
        price = getattr(self.region(region), key)
        if price is None:
            raise CostError(f"no price for {key} in {region} (used by {used_by}); add regions.{region}.{key} with --prices")
        return price

    def instance_facts(self, instance_type: str, used_by: str) -> InstanceFacts:
        if instance_type not in self.instance_types:
            raise CostError(f"instance type '{instance_type}' (used by {used_by}) has no entry in instance_types (GPUs per node); add it with --prices")
        return self.instance_types[instance_type]

    def model_price(self, provider: str, model: str, used_by: str) -> tuple[str, ModelPrice]:
        key = f"{provider}/{canonical_model_id(provider, model)}"
        if key not in self.models:
            raise CostError(f"no price for model '{model}' of provider {provider} (used by {used_by}); add models.{key} with --prices")
        return key, self.models[key]


def canonical_model_id(provider: str, model: str) -> str:
    """claude-haiku-4-5-20251001 -> claude-haiku-4-5; us.anthropic.claude-x-v1:0 -> claude-x."""
    name = model.strip()
    if provider == "bedrock":
        name = re.sub(r"^(?:[a-z]{2,6}\.)?anthropic\.", "", name)
        name = re.sub(r"-v\d+(?::\d+)?$", "", name)
    return re.sub(r"-\d{8}$", "", name)


def _figures(catalog: Catalog):
    for region_name, region in catalog.regions.items():
        for name, price in region.instances.items():
            yield f"regions.{region_name}.instances.{name}", price
        for key in RegionPrices.model_fields:
            value = getattr(region, key)
            if isinstance(value, Sourced):
                yield f"regions.{region_name}.{key}", value
    for group in ("instance_types", "gpus", "models"):
        for name, figure in getattr(catalog, group).items():
            yield f"{group}.{name}", figure
    for index, figure in enumerate(catalog.throughput):
        yield f"throughput[{index}]", figure


def _merge(base: Any, overlay: Any) -> Any:
    # Mappings merge key by key so a prices file can add one instance type; lists and
    # scalars in the overlay replace the shipped ones.
    if isinstance(base, dict) and isinstance(overlay, dict):
        return {**base, **{k: _merge(base.get(k), v) for k, v in overlay.items()}}
    return overlay


def _read(path: Path, what: str) -> dict[str, Any]:
    try:
        document = yaml_safe.load_bytes(path.read_bytes())  # size, depth and alias limits, UTF-8
    except OSError as error:
        raise CostError(f"cannot read {what} {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise CostError(f"{what} {path} is not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise CostError(f"{what} {path} must be a mapping at the top level (catalog_date, regions, models, ...)")
    return document


def load_catalog(prices_file: Path | None = None) -> Catalog:
    document = _read(SHIPPED_CATALOG, "price catalog")
    origin = str(SHIPPED_CATALOG)
    if prices_file is not None:
        document = _merge(document, _read(prices_file, "prices file"))
        origin = f"prices file {prices_file}"
    try:
        return Catalog.model_validate(document)
    except ValidationError as error:
        # The same key-path wording as the stack config and the agent spec.
        from runtime.field_errors import field_errors

        problems = []
        for problem in field_errors(error, Catalog):
            shown = "" if problem.value is None or isinstance(problem.value, (dict, list)) else f" = {problem.value!r}"
            problems.append(f"{problem.path}{shown}: {problem.message}" if problem.loc else problem.message)
        raise CostError(f"{origin} is invalid: " + "; ".join(problems)) from None
