"""CPU and memory requests never exceed their limits (orchestrator and model servers)."""

from __future__ import annotations

from typing import Iterator

from components.config.errors import ConfigIssue, key_path
from components.config.quantities import parse_quantity
from components.config.rules.context import RuleContext
from components.config.schema import ModelResourcesConfig, ResourcesConfig, StackConfig


def workload_resources(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    blocks: list[tuple[tuple[str | int, ...], ResourcesConfig | ModelResourcesConfig]] = [
        (("orchestrator", "resources"), config.orchestrator.resources)
    ]
    blocks += [(("models", i, "resources"), model.resources) for i, model in enumerate(config.models)]
    for parts, resources in blocks:
        for kind in ("cpu", "memory"):
            request = getattr(resources, f"{kind}_request")
            limit = getattr(resources, f"{kind}_limit")
            if request and limit and parse_quantity(request) > parse_quantity(limit):
                yield ConfigIssue(
                    key_path(*parts, f"{kind}Request"),
                    request,
                    f"larger than {kind}Limit ({limit}); a request can never exceed its limit",
                )
