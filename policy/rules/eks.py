"""EKS: the control plane's endpoint, encryption and logs; the nodes' metadata service."""

from __future__ import annotations

from typing import Iterator

from policy.model import Problem, Resource
from policy.rules.define import resource_rule

CLUSTER = "aws:eks/cluster:Cluster"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
OPEN = ("0.0.0.0/0", "::/0")
REQUIRED_LOGS = ("api", "audit", "authenticator")


def _vpc(resource: Resource) -> dict:
    vpc = resource.inputs.get("vpcConfig")
    return vpc if isinstance(vpc, dict) else {}


@resource_rule(
    "AIRLOCK-EKS-001",
    "EKS API endpoint is private",
    "medium",
    "A public Kubernetes API endpoint is reachable from the internet; keep it private and reach it from inside the VPC.",
    [CLUSTER],
    checkov=("CKV_AWS_39",),
    cdk_nag=("AwsSolutions-EKS1",),
)
def private_endpoint(resource: Resource) -> Iterator[Problem]:
    vpc = _vpc(resource)
    # EKS defaults endpointPublicAccess to true when unset.
    if vpc.get("endpointPublicAccess", True) is not False:
        yield Problem("vpcConfig.endpointPublicAccess", "the cluster API endpoint is public")
    if vpc.get("endpointPrivateAccess") is not True:
        yield Problem("vpcConfig.endpointPrivateAccess", "the private API endpoint is not enabled")


@resource_rule(
    "AIRLOCK-EKS-002",
    "A public EKS API endpoint is not open to the whole internet",
    "high",
    "If the API endpoint must be public, restrict it to known CIDRs; 0.0.0.0/0 (the EKS default) exposes it to everyone.",
    [CLUSTER],
    checkov=("CKV_AWS_38",),
)
def public_cidrs(resource: Resource) -> Iterator[Problem]:
    vpc = _vpc(resource)
    if vpc.get("endpointPublicAccess", True) is False:
        return
    cidrs = vpc.get("publicAccessCidrs")
    if not cidrs:
        yield Problem("vpcConfig.publicAccessCidrs", "public endpoint with no CIDR restriction (EKS allows 0.0.0.0/0)")
        return
    for index, cidr in enumerate(cidrs):
        if cidr in OPEN:
            yield Problem(f"vpcConfig.publicAccessCidrs[{index}]", f"public endpoint open to {cidr}")


@resource_rule(
    "AIRLOCK-EKS-003",
    "Kubernetes Secrets are envelope-encrypted with a KMS key",
    "high",
    "Without envelope encryption, Secrets in etcd are protected only by the disk encryption AWS manages.",
    [CLUSTER],
    checkov=("CKV_AWS_58",),
)
def envelope_encryption(resource: Resource) -> Iterator[Problem]:
    encryption = resource.inputs.get("encryptionConfig")
    configs = encryption if isinstance(encryption, list) else [encryption] if isinstance(encryption, dict) else []
    for config in configs:
        if "secrets" in (config.get("resources") or []) and (config.get("provider") or {}).get("keyArn"):
            return
    yield Problem("encryptionConfig", "no KMS key encrypts the cluster's secrets")


@resource_rule(
    "AIRLOCK-EKS-004",
    "EKS control-plane logs include api, audit and authenticator",
    "medium",
    "Audit and authenticator logs are the record of who did what to the cluster; without them an incident cannot be reconstructed.",
    [CLUSTER],
    checkov=("CKV_AWS_37",),
    cdk_nag=("AwsSolutions-EKS2",),
)
def control_plane_logs(resource: Resource) -> Iterator[Problem]:
    enabled = resource.inputs.get("enabledClusterLogTypes") or []
    missing = [log for log in REQUIRED_LOGS if log not in enabled]
    if missing:
        yield Problem("enabledClusterLogTypes", f"control-plane logs not enabled: {', '.join(missing)}")


@resource_rule(
    "AIRLOCK-EKS-005",
    "Nodes require IMDSv2 with a hop limit of 1",
    "high",
    "With IMDSv1 or a hop limit above 1, any pod can fetch the node role's credentials from 169.254.169.254.",
    [LAUNCH_TEMPLATE],
    checkov=("CKV_AWS_79",),
)
def imdsv2(resource: Resource) -> Iterator[Problem]:
    options = resource.inputs.get("metadataOptions") or {}
    if options.get("httpEndpoint") == "disabled":
        return
    if options.get("httpTokens") != "required":
        yield Problem("metadataOptions.httpTokens", f"IMDSv1 allowed (httpTokens={options.get('httpTokens')!r}, needs 'required')")
    hops = options.get("httpPutResponseHopLimit")
    if hops != 1:
        yield Problem("metadataOptions.httpPutResponseHopLimit", f"hop limit {hops!r} lets pods reach the metadata service (needs 1)")


@resource_rule(
    "AIRLOCK-EKS-006",
    "Node volumes are encrypted",
    "medium",
    "Model weights, caches and container layers land on node volumes; an unencrypted volume or snapshot leaks them.",
    [LAUNCH_TEMPLATE],
)
def node_volumes_encrypted(resource: Resource) -> Iterator[Problem]:
    for index, mapping in enumerate(resource.inputs.get("blockDeviceMappings") or []):
        ebs = mapping.get("ebs") if isinstance(mapping, dict) else None
        if isinstance(ebs, dict) and str(ebs.get("encrypted")).lower() != "true":
            yield Problem(f"blockDeviceMappings[{index}].ebs.encrypted", "node volume is not encrypted")
