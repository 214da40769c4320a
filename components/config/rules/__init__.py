"""Cross-field rules: the promises each profile and platform make, checked on the whole stack.

Each rule is a small generator of :class:`ConfigIssue` naming the exact key that has to
change, in the module for the part of the schema it guards. Rules run after profile
defaults are applied (``components.config.defaults``), so they see the stack as it would
be deployed, and they report every problem at once.
"""

from __future__ import annotations

from components.config.errors import ConfigIssue
from components.config.rules.access import api_access_path
from components.config.rules.addons import installed_addons
from components.config.rules.addresses import airgapped_endpoints, endpoint_addresses
from components.config.rules.cluster import (
    eks_endpoint_and_logs,
    gpu_pools,
    kubernetes_version,
    platform_scope,
)
from components.config.rules.context import Rule, RuleContext
from components.config.rules.egress import (
    airgapped_promise,
    egress_routes,
    observability,
)
from components.config.rules.images import device_plugin_registry, images_pinned
from components.config.rules.models import (
    model_serving,
    models_fit,
    s3_weights_need_aws,
)
from components.config.rules.names import unique_names
from components.config.rules.network import network_layout, vpc_endpoints
from components.config.rules.orchestrator import orchestrator
from components.config.rules.pools import pool_capacity_and_storage
from components.config.rules.resources import workload_resources
from components.config.rules.sandbox_isolation import sandbox_isolation
from components.config.rules.sandboxes import sandbox_egress
from components.config.rules.secrets import references
from components.config.rules.store import airgapped_store, shared_store, store_platform
from components.config.schema import StackConfig

__all__ = ["RULES", "Rule", "RuleContext", "check"]

# The order is the order issues are reported in.
RULES: tuple[Rule, ...] = (
    s3_weights_need_aws,
    platform_scope,
    kubernetes_version,
    eks_endpoint_and_logs,
    api_access_path,
    unique_names,
    network_layout,
    airgapped_promise,
    vpc_endpoints,
    images_pinned,
    device_plugin_registry,
    gpu_pools,
    pool_capacity_and_storage,
    models_fit,
    model_serving,
    installed_addons,
    store_platform,
    shared_store,
    airgapped_store,
    workload_resources,
    egress_routes,
    references,
    observability,
    sandbox_egress,
    endpoint_addresses,
    airgapped_endpoints,
    sandbox_isolation,
)


def check(config: StackConfig, ctx: RuleContext) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    for rule in RULES:
        issues.extend(rule(config, ctx))
    # The agent spec is checked against the stack only once the stack itself is sound: a
    # broken model or URL would otherwise also be reported as every route that uses it.
    if not any(issue.severity == "error" for issue in issues):
        issues.extend(orchestrator(config, ctx))
    return issues
