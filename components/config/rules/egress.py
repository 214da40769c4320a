"""What may reach the internet: the airgapped promise, the egress proxy's routes, telemetry."""

from __future__ import annotations

from typing import Iterator

from components.config.defaults import PROFILES
from components.config.endpoints import parse_endpoint_or_none
from components.config.errors import ConfigIssue, key_path
from components.config.rules.context import RuleContext
from components.config.schema import StackConfig


def airgapped_promise(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    """An airgapped stack has no path to the internet and pulls nothing from it."""
    if config.profile != "airgapped":
        return
    if config.network is not None and config.network.nat_gateways != "none":
        yield ConfigIssue(
            key_path("network", "natGateways"), config.network.nat_gateways, "an airgapped stack has no NAT or internet gateway; allowed: 'none'"
        )
    for i, cloud_model in enumerate(config.cloud_models):
        yield ConfigIssue(
            key_path("cloudModels", i, "provider"),
            cloud_model.provider,
            "an airgapped stack serves only local models; move this route to 'models' (vLLM) or use profile 'hybrid'",
        )
    if config.egress_proxy.enabled:
        yield ConfigIssue(key_path("egressProxy", "enabled"), True, "an airgapped stack has no egress proxy; allowed: false")
    if config.egress_proxy.allowlist:
        yield ConfigIssue(key_path("egressProxy", "allowlist"), config.egress_proxy.allowlist, "an airgapped stack reaches no internet names; allowed: []")
    for i, model in enumerate(config.models):
        if model.weights_source == "huggingface":
            yield ConfigIssue(
                key_path("models", i, "weightsSource"),
                model.weights_source,
                "an airgapped stack cannot download weights; allowed: 's3' (mirror bucket) or 'pvc' (pre-staged)",
            )


def egress_routes(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    """Internet names are reached only through the egress proxy; a stack that turns it off
    cannot also depend on it. (Airgapped stacks reject these names outright.)"""
    for i, cloud_model in enumerate(config.cloud_models):
        if cloud_model.base_url and parse_endpoint_or_none(cloud_model.base_url) is None:
            yield ConfigIssue(key_path("cloudModels", i, "baseUrl"), cloud_model.base_url, "has a port outside 1-65535")
    endpoint = parse_endpoint_or_none(config.observability.endpoint) if config.observability.endpoint else None
    if config.observability.endpoint and endpoint is None:
        yield ConfigIssue(
            key_path("observability", "endpoint"),
            config.observability.endpoint,
            "must be an http(s):// URL or host:port with a port in 1-65535",
        )
    if not PROFILES[config.profile].internet:
        return
    external_telemetry = endpoint is not None and not endpoint.in_cluster and config.observability.exporter != "debug"
    if not config.egress_proxy.enabled:
        why = "is reached only through the egress proxy, which egressProxy.enabled: false turns off; enable the proxy"
        for i, cloud_model in enumerate(config.cloud_models):
            yield ConfigIssue(key_path("cloudModels", i, "baseUrl"), cloud_model.base_url, why)
        for i, model in enumerate(config.models):
            if model.weights_source == "huggingface":
                yield ConfigIssue(
                    key_path("models", i, "weightsSource"),
                    model.weights_source,
                    f"Hugging Face {why}, or use 's3' or 'pvc' weights",
                )
        if external_telemetry:
            yield ConfigIssue(key_path("observability", "endpoint"), config.observability.endpoint, why)
    elif external_telemetry and endpoint is not None and endpoint.scheme == "http":
        yield ConfigIssue(
            key_path("observability", "endpoint"),
            config.observability.endpoint,
            "telemetry leaves the cluster through the egress proxy, which only tunnels TLS; allowed: https://... "
            "(or host:port for OTLP gRPC over TLS)",
        )


def observability(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    obs = config.observability
    if obs.exporter in ("otlp", "otlphttp") and not obs.endpoint:
        yield ConfigIssue(key_path("observability", "endpoint"), None, f"required when exporter is '{obs.exporter}'")
    if obs.exporter == "debug" and obs.endpoint:
        yield ConfigIssue(key_path("observability", "endpoint"), obs.endpoint, "the 'debug' exporter writes to the collector log; set exporter 'otlp' or 'otlphttp' to use an endpoint")
