"""The VPC (platform 'aws'): subnet layout and the VPC endpoints the stack cannot work without."""

from __future__ import annotations

import ipaddress
from typing import Iterator

from components.config.addresses import PRIVATE_IPV4_RANGES
from components.config.errors import ConfigIssue, key_path
from components.config.rules.context import RuleContext
from components.config.rules.names import duplicate_names
from components.config.schema import StackConfig

AIRGAP_INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts", "secretsmanager", "kms", "logs", "ec2", "sqs")


AIRGAP_GATEWAY_ENDPOINTS = ("s3", "dynamodb")


# AWS APIs the agent runtime calls (queue, state, audit, secrets, tokens, logs).
RUNTIME_INTERFACE_ENDPOINTS = ("sqs", "dynamodb", "s3", "secretsmanager", "kms", "sts", "logs")


def network_layout(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    network = config.network
    if config.platform != "aws" or network is None:
        return
    vpc = network.vpc_cidr
    if not 16 <= vpc.prefixlen <= 24:
        yield ConfigIssue(key_path("network", "vpcCidr"), str(vpc), "must be between /16 and /24")
    if not any(vpc.subnet_of(r) for r in PRIVATE_IPV4_RANGES):
        yield ConfigIssue(key_path("network", "vpcCidr"), str(vpc), "must be a private (RFC 1918) range: 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
    zones = network.availability_zones or []
    if not zones:
        yield ConfigIssue(key_path("network", "availabilityZones"), [], "at least one availability zone is required")
    for i, zone in enumerate(zones):
        if ctx.region and not zone.startswith(ctx.region):
            yield ConfigIssue(key_path("network", "availabilityZones", i), zone, f"is not a zone of region {ctx.region} (aws:region)")
    yield from duplicate_names(("network", "availabilityZones"), zones, "zones must be unique")

    subnets: list[tuple[str, ipaddress.IPv4Network]] = []
    for key, cidrs in (("privateSubnetCidrs", network.private_subnet_cidrs or []), ("publicSubnetCidrs", network.public_subnet_cidrs or [])):
        for i, cidr in enumerate(cidrs):
            path = key_path("network", key, i)
            if not cidr.subnet_of(vpc):
                yield ConfigIssue(path, str(cidr), f"must lie inside vpcCidr {vpc}")
            for other_path, other in subnets:
                if cidr.overlaps(other):
                    yield ConfigIssue(path, str(cidr), f"overlaps {other_path} ({other}); subnets must not overlap")
            subnets.append((path, cidr))
    if len(network.private_subnet_cidrs or []) != len(zones):
        yield ConfigIssue(
            key_path("network", "privateSubnetCidrs"),
            [str(c) for c in network.private_subnet_cidrs or []],
            f"needs exactly one CIDR per availability zone ({len(zones)})",
        )
    public = network.public_subnet_cidrs or []
    if network.nat_gateways == "none" and public:
        yield ConfigIssue(
            key_path("network", "publicSubnetCidrs"),
            [str(c) for c in public],
            "public subnets exist only to hold NAT gateways; allowed: [] when natGateways is 'none'",
        )
    if network.nat_gateways != "none" and len(public) != len(zones):
        yield ConfigIssue(
            key_path("network", "publicSubnetCidrs"),
            [str(c) for c in public],
            f"needs exactly one CIDR per availability zone ({len(zones)}) when natGateways is '{network.nat_gateways}'",
        )
    if len(zones) == 1:
        yield ConfigIssue(
            key_path("network", "availabilityZones"),
            zones,
            "EKS requires subnets in at least two availability zones (CreateCluster fails otherwise); list two or more",
        )


def vpc_endpoints(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    """Endpoints the stack cannot work without: the runtime's AWS APIs everywhere (its
    NetworkPolicy allows AWS only at addresses inside the private subnets), and in an
    airgapped VPC also everything nodes need to bootstrap and pull images."""
    network = config.network
    if config.platform != "aws" or network is None:
        return
    airgapped = config.profile == "airgapped"
    interface = network.interface_endpoints or []
    reasons: dict[str, str] = {}
    for endpoint in RUNTIME_INTERFACE_ENDPOINTS:
        reasons.setdefault(endpoint, "the orchestrator reaches AWS APIs only at addresses inside the private subnets")
    if airgapped:
        for endpoint in AIRGAP_INTERFACE_ENDPOINTS:
            reasons.setdefault(endpoint, "an airgapped VPC reaches AWS only through endpoints")
    missing = [e for e in reasons if e not in interface]
    if missing:
        why = "; ".join(sorted({reasons[e] for e in missing}))
        yield ConfigIssue(key_path("network", "interfaceEndpoints"), interface, f"must include {', '.join(missing)} ({why})")
    if airgapped:
        missing_gw = [e for e in AIRGAP_GATEWAY_ENDPOINTS if e not in (network.gateway_endpoints or [])]
        if missing_gw:
            yield ConfigIssue(
                key_path("network", "gatewayEndpoints"),
                network.gateway_endpoints,
                f"an airgapped VPC reaches AWS only through endpoints; must include {', '.join(missing_gw)}",
            )
