"""The deployer's way to the cluster API: `pulumi up` deploys the Kubernetes objects through
the EKS endpoint, so a stack that names no network that may reach it cannot finish."""

from __future__ import annotations

import ipaddress
from typing import Iterator

from components.config.errors import ConfigIssue, key_path
from components.config.rules.context import RuleContext
from components.config.rules.names import duplicate_names
from components.config.schema import StackConfig

# RFC 5737 documentation ranges: an example, never anybody's network.
DOCUMENTATION_RANGES = [ipaddress.ip_network(c) for c in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]


def api_access_path(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    """Public CIDRs of the deployer, or a private range (VPN, Direct Connect, bastion, CI
    runner) on the API security group; and access entries for further principals."""
    if config.platform != "aws":
        return
    cluster = config.cluster
    for key, cidrs in (
        ("endpointPublicAccessCidrs", cluster.endpoint_public_access_cidrs),
        ("endpointPrivateAccessCidrs", cluster.endpoint_private_access_cidrs),
    ):
        for i, cidr in enumerate(cidrs):
            if any(cidr.version == doc.version and cidr.subnet_of(doc) for doc in DOCUMENTATION_RANGES):
                yield ConfigIssue(
                    key_path("cluster", key, i),
                    str(cidr),
                    "is a documentation range (RFC 5737), nobody's real network; list the CIDR you deploy from",
                )
    for i, entry in enumerate(cluster.access_entries):
        if entry.access == "cluster-admin" and entry.namespaces:
            yield ConfigIssue(
                key_path("cluster", "accessEntries", i, "namespaces"),
                entry.namespaces,
                "cluster-admin is cluster-wide; allowed: [] (or access admin, edit or view for namespaces)",
            )
    yield from duplicate_names(
        ("cluster", "accessEntries"), [e.principal_arn for e in cluster.access_entries], "one entry per principal", leaf="principalArn"
    )
    if not cluster.endpoint_public_access_cidrs and not cluster.endpoint_private_access_cidrs:
        # Name the key the stack chose to leave empty; airgapped stacks have only the private one.
        private = config.profile == "airgapped" or "endpoint_private_access_cidrs" in cluster.model_fields_set
        key = "endpointPrivateAccessCidrs" if private else "endpointPublicAccessCidrs"
        how = (
            "set your VPN, Direct Connect or bastion range: `pulumi config set --path "
            "'airlock:cluster.endpointPrivateAccessCidrs[0]' <CIDR>`"
            if private
            else "set the public address you deploy from: `pulumi config set --path "
            "'airlock:cluster.endpointPublicAccessCidrs[0]' \"$(curl -s https://checkip.amazonaws.com)/32\"`, "
            "or a VPN/bastion range in endpointPrivateAccessCidrs"
        )
        yield ConfigIssue(
            key_path("cluster", key),
            [],
            "no network may reach the cluster API, so `pulumi up` could not deploy the Kubernetes objects "
            f"(docs/aws.md, first deploy); {how}",
            "deploy",
        )
