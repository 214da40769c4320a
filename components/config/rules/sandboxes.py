"""Sandboxes: what their allowlists may open, and whether their quota holds their executors."""

from __future__ import annotations

import ipaddress
from typing import Iterator

from components.config.addresses import FORBIDDEN_EGRESS, PRIVATE_RANGES
from components.config.defaults import PROFILES
from components.config.errors import ConfigIssue, key_path
from components.config.quantities import parse_quantity
from components.config.rules.context import RuleContext
from components.config.schema import StackConfig
from runtime.addresses import normalize_network


def sandbox_egress(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    internet = PROFILES[config.profile].internet
    for s, sandbox in enumerate(config.sandboxes):
        for e, entry in enumerate(sandbox.egress_allowlist):
            path = key_path("sandboxes", s, "egressAllowlist", e)
            network = _as_network(entry)
            if network is None:
                if not internet or not config.egress_proxy.enabled:
                    yield ConfigIssue(
                        path,
                        entry,
                        "DNS names are reached through the egress proxy, which this stack does not run"
                        + (" (airgapped)" if not internet else " (egressProxy.enabled is false)")
                        + "; allowed: private CIDRs",
                    )
                continue
            yield from _cidr_entry(path, entry, network, internet)
        yield from _quota_holds(s, sandbox)
    yield from _outside_cluster_subnets(config)


def _outside_cluster_subnets(config: StackConfig) -> Iterator[ConfigIssue]:
    """On aws the private subnets hold the nodes (kubelet), every pod (VPC CNI addresses) and
    the EKS API endpoint's network interfaces; a sandbox CIDR must not open a way to them."""
    if config.platform != "aws" or config.network is None:
        return
    subnets = config.network.private_subnet_cidrs or []
    for s, sandbox in enumerate(config.sandboxes):
        for e, entry in enumerate(sandbox.egress_allowlist):
            network = _as_network(entry)
            if network is None or network.version != 4:
                continue
            for j, subnet in enumerate(subnets):
                if network.overlaps(subnet):
                    yield ConfigIssue(
                        key_path("sandboxes", s, "egressAllowlist", e),
                        entry,
                        f"overlaps private subnet {subnet} ({key_path('network', 'privateSubnetCidrs', j)}), where the "
                        "cluster's nodes, pods and API endpoint live; sandboxes may never reach them",
                    )
                    break


def _as_network(entry: str):
    """The network an entry reaches: IPv6 spellings of IPv4 space are judged as that IPv4."""
    try:
        return normalize_network(ipaddress.ip_network(entry, strict=True))
    except ValueError:
        return None


def _cidr_entry(path: str, entry: str, network, internet: bool) -> Iterator[ConfigIssue]:
    minimum = 8 if network.version == 4 else 16
    if network.prefixlen == 0:
        yield ConfigIssue(path, entry, "would open sandboxes to every address; list the specific CIDRs or DNS names they need")
        return
    if network.prefixlen < minimum:
        yield ConfigIssue(path, entry, f"is too broad (shorter than /{minimum}); list the specific CIDRs or DNS names sandboxes need")
        return
    for forbidden, what in FORBIDDEN_EGRESS.items():
        if network.version == forbidden.version and network.overlaps(forbidden):
            yield ConfigIssue(path, entry, f"overlaps {forbidden} ({what}), which sandboxes may never reach")
            return
    if not internet and not any(network.version == r.version and network.subnet_of(r) for r in PRIVATE_RANGES):
        yield ConfigIssue(path, entry, "an airgapped stack reaches only private ranges (10/8, 172.16/12, 192.168/16, fc00::/7)")


def _quota_holds(s: int, sandbox) -> Iterator[ConfigIssue]:
    for key in ("cpu", "memory", "ephemeral_storage"):
        limit = parse_quantity(getattr(sandbox.limits, key))
        quota = parse_quantity(getattr(sandbox.quota, key))
        if limit * sandbox.replicas > quota:
            camel = "ephemeralStorage" if key == "ephemeral_storage" else key
            yield ConfigIssue(
                key_path("sandboxes", s, "quota", camel),
                getattr(sandbox.quota, key),
                f"smaller than replicas ({sandbox.replicas}) x limits.{camel} ({getattr(sandbox.limits, key)}); the executors could never all start",
            )
    if sandbox.replicas > sandbox.quota.pods:
        yield ConfigIssue(key_path("sandboxes", s, "quota", "pods"), sandbox.quota.pods, f"smaller than replicas ({sandbox.replicas})")
