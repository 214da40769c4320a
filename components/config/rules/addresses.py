"""Config rules about where a stack's URLs point, decided by the address they resolve to.

Hosts are parsed by :mod:`runtime.addresses`, the same function the runtime uses, so
``https://0xa9fea9fe/v1`` is the metadata service here as it is to the HTTP client, not a
name.
"""

from __future__ import annotations

from typing import Iterator
from urllib.parse import urlsplit

from components.config.endpoints import parse_endpoint_or_none
from components.config.errors import ConfigIssue, key_path
from components.config.rules.context import RuleContext
from components.config.schema import StackConfig
from runtime.addresses import host_class

# Classes no stack may send model or telemetry traffic to: the node's own services
# (metadata, link-local), itself, and addresses that are not one destination.
NEVER_AN_ENDPOINT = {
    "link-local": "a link-local address (where the instance metadata service lives)",
    "loopback": "a loopback address (the pod itself)",
    "unspecified": "the unspecified address",
    "multicast": "a multicast address",
    "shared": "carrier-grade NAT space (100.64.0.0/10)",
}


def _host(url: str) -> str:
    try:
        return urlsplit(url if "://" in url else f"grpc://{url}").hostname or ""
    except ValueError:
        return ""


def endpoint_addresses(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    urls = [(key_path("cloudModels", i, "baseUrl"), c.base_url) for i, c in enumerate(config.cloud_models)]
    urls.append((key_path("observability", "endpoint"), config.observability.endpoint))
    for path, url in urls:
        if not url:
            continue
        what = NEVER_AN_ENDPOINT.get(host_class(_host(url)))
        if what:
            yield ConfigIssue(path, url, f"points at {what}; allowed: a DNS name or a routable address")


def airgapped_endpoints(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    """An airgapped stack's collector exports only inside the cluster."""
    endpoint = config.observability.endpoint
    if config.profile != "airgapped" or not endpoint or config.observability.exporter == "debug":
        return
    parsed = parse_endpoint_or_none(endpoint)
    if parsed is not None and not parsed.in_cluster:  # unparseable: reported by the endpoint rule
        yield ConfigIssue(
            key_path("observability", "endpoint"),
            endpoint,
            "an airgapped stack exports telemetry only inside the cluster; allowed: <service>.<namespace>.svc[.cluster.local]:<port>",
        )
