"""NetworkPolicy building blocks: default deny, then narrow, named allows.

Policies are a union (any policy selecting a pod can only widen what it may do), so every
namespace starts with ``default-deny`` for ingress and egress and each allow is a separate,
reviewable rule built here. Peers in other namespaces are selected by the immutable
``kubernetes.io/metadata.name`` label, which no tenant can put on their own namespace.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Iterable, Mapping, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.config.schema import ClusterDnsConfig
from components.config.addresses import FORBIDDEN_EGRESS, PRIVATE_RANGES, Network, within
from components.workloads.labels import Role
from components.workloads.pod_security import Spec, metadata

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
DNS_PORT = 53
HTTPS_PORT = 443


def _collapsed(networks: Iterable[Network], version: int) -> list[str]:
    if version == 4:
        return [str(n) for n in ipaddress.collapse_addresses(n for n in networks if isinstance(n, ipaddress.IPv4Network))]
    return [str(n) for n in ipaddress.collapse_addresses(n for n in networks if isinstance(n, ipaddress.IPv6Network))]


# Never "the internet": private ranges plus everything no workload may ever reach
# (IMDS and the rest of link-local, CGNAT, loopback, 'this network'), for IPv4 and IPv6.
NOT_INTERNET = [*FORBIDDEN_EGRESS, *PRIVATE_RANGES]
NOT_INTERNET_V4 = _collapsed(NOT_INTERNET, 4)
NOT_INTERNET_V6 = _collapsed(NOT_INTERNET, 6)


def namespace_peer(namespace: str, pod_labels: Mapping[str, str] | None = None) -> Spec:
    """Pods (all, or those matching ``pod_labels``) in exactly one namespace."""
    peer: Spec = {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}}}
    peer["podSelector"] = {"matchLabels": dict(pod_labels)} if pod_labels else {}
    return peer


def ip_block(cidr: str, excepts: Sequence[str] = ()) -> Spec:
    block: Spec = {"cidr": cidr}
    if excepts:
        block["except"] = list(excepts)
    return {"ipBlock": block}


def tcp(*ports: int) -> list[Spec]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def internet_peers() -> list[Spec]:
    """Public IPv4 and IPv6 addresses only. Used by the egress proxy, and nothing else."""
    return [ip_block("0.0.0.0/0", NOT_INTERNET_V4), ip_block("::/0", NOT_INTERNET_V6)]


def never_reachable_within(cidr: str) -> list[str]:
    """The forbidden ranges (IMDS, link-local, CGNAT, loopback...) inside an allowlisted CIDR,
    to carve out as ``except``. Config rules already reject allowlist entries that overlap
    them; this is the second lock on the same door."""
    network = ipaddress.ip_network(cidr)
    return [
        str(forbidden)
        for forbidden in FORBIDDEN_EGRESS
        if forbidden != network and within(forbidden, network)
    ]


def dns_egress_rule(dns: ClusterDnsConfig) -> Spec:
    """UDP and TCP 53 to the cluster resolver pods only (not port 53 anywhere), plus the
    NodeLocal DNSCache address when the cluster runs one."""
    peers = [namespace_peer(dns.namespace, dns.pod_labels)]
    if dns.node_local_dns_ip is not None:
        peers.append(ip_block(f"{dns.node_local_dns_ip}/32"))
    return {"to": peers, "ports": [{"protocol": "UDP", "port": DNS_PORT}, {"protocol": "TCP", "port": DNS_PORT}]}


def with_aws_endpoints(rules: list[Spec], private_subnets: Sequence[str]) -> list[Spec]:
    """``rules`` plus TCP 443 to the AWS APIs a pod calls directly. Every one of them (STS,
    Secrets Manager, KMS, SQS, Logs, and S3 and DynamoDB too) has an interface endpoint with
    private DNS in the private subnets (a config rule keeps them in every aws stack; see
    docs/aws.md), so their regional names resolve inside these CIDRs and nothing public
    has to be admitted."""
    result = list(rules)
    if private_subnets:
        result.append({"to": [ip_block(c) for c in private_subnets], "ports": tcp(HTTPS_PORT)})
    return result


def default_deny_spec() -> Spec:
    """Selects every pod in the namespace; allows nothing in either direction."""
    return {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def policy_spec(
    pod_selector: Mapping[str, str] | None,
    *,
    ingress: Sequence[Spec] | None = None,
    egress: pulumi.Input[Sequence[Any]] | None = None,
) -> Spec:
    """An allow policy; only the directions given are governed by it."""
    spec: Spec = {"podSelector": {"matchLabels": dict(pod_selector)} if pod_selector else {}, "policyTypes": []}
    if ingress is not None:
        spec["policyTypes"].append("Ingress")
        spec["ingress"] = list(ingress)
    if egress is not None:
        spec["policyTypes"].append("Egress")
        spec["egress"] = egress
    return spec


def network_policy(
    resource_name: str,
    name: str,
    namespace: pulumi.Input[str],
    role: Role,
    spec: Spec,
    opts: pulumi.ResourceOptions,
) -> k8s.networking.v1.NetworkPolicy:
    return k8s.networking.v1.NetworkPolicy(
        resource_name,
        metadata=metadata(name, namespace, role, name),
        spec=spec,
        opts=opts,
    )
