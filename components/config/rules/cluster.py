"""The cluster and its node pools: what each platform manages, the API endpoint, logs, pool sizes."""

from __future__ import annotations

from typing import Iterator

from kubernetes_validate.utils import all_versions

from components.config.addresses import PRIVATE_IPV4_RANGES
from components.config.catalog import GPU_INSTANCES
from components.config.errors import ConfigIssue, key_path
from components.config.rules.context import RuleContext
from components.config.schema import REQUIRED_LOG_TYPES, StackConfig



def _supported_kubernetes_versions() -> list[str]:
    return sorted({".".join(v.split(".")[:2]) for v in all_versions()}, key=lambda v: int(v.split(".")[1]))


def platform_scope(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    if config.platform == "kubernetes":
        for field, key in (("network", "network"), ("system_pool", "systemPool")):
            if field in config.model_fields_set:
                yield ConfigIssue(key_path(key), "(set)", "applies to platform 'aws' only; remove it for platform 'kubernetes'")
        for key, cidrs in (
            ("endpointPublicAccessCidrs", config.cluster.endpoint_public_access_cidrs),
            ("endpointPrivateAccessCidrs", config.cluster.endpoint_private_access_cidrs),
            ("accessEntries", config.cluster.access_entries),
        ):
            if cidrs:
                yield ConfigIssue(
                    key_path("cluster", key),
                    "(set)",
                    "applies to platform 'aws' only (the existing cluster's API endpoint and access are not managed here)",
                )
        if config.cluster.cni is None:
            yield ConfigIssue(
                key_path("cluster", "cni"),
                None,
                "required for platform 'kubernetes': name the CNI that enforces NetworkPolicies in this cluster "
                "(cilium, calico, antrea, vpc-cni); without enforcement every sandbox policy is silently ignored",
            )
        if config.profile == "airgapped" and not config.images.mirror:
            yield ConfigIssue(
                key_path("images", "mirror"),
                None,
                "required for an airgapped stack on platform 'kubernetes': the private registry every image is pulled from",
            )
        if config.deploy_phase == "bootstrap":
            yield ConfigIssue(
                key_path("deployPhase"),
                "bootstrap",
                "applies to platform 'aws' only (the existing cluster and its registry exist already); allowed: 'full'",
            )
        for i, cloud_model in enumerate(config.cloud_models):
            if cloud_model.provider == "bedrock":
                yield ConfigIssue(key_path("cloudModels", i, "provider"), "bedrock", "bedrock needs platform 'aws' (IAM roles for service accounts)")
    else:
        if ctx.region is None:
            yield ConfigIssue("aws:region", None, "required for platform 'aws': set it with `pulumi config set aws:region us-east-1`")
        for field in ("kubeconfig", "context"):
            if getattr(config.cluster, field) is not None:
                yield ConfigIssue(key_path("cluster", field), "(set)", "applies to platform 'kubernetes' only; on 'aws' the EKS cluster is built by this stack")


def kubernetes_version(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    supported = _supported_kubernetes_versions()
    if config.cluster.kubernetes_version not in supported:
        yield ConfigIssue(
            key_path("cluster", "kubernetesVersion"),
            config.cluster.kubernetes_version,
            f"no Kubernetes schema for this version; allowed: {', '.join(supported)}",
        )


def eks_endpoint_and_logs(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    for i, cidr in enumerate(config.cluster.endpoint_public_access_cidrs):
        if cidr.prefixlen == 0:
            yield ConfigIssue(
                key_path("cluster", "endpointPublicAccessCidrs", i),
                str(cidr),
                "the cluster API must never be open to the whole internet; list the admin CIDRs that need it",
            )
    for i, cidr in enumerate(config.cluster.endpoint_private_access_cidrs):
        if not any(cidr.subnet_of(r) for r in PRIVATE_IPV4_RANGES):
            yield ConfigIssue(
                key_path("cluster", "endpointPrivateAccessCidrs", i),
                str(cidr),
                "must be a private (RFC 1918) range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16; "
                "public admin addresses belong in endpointPublicAccessCidrs (not in airgapped stacks)",
            )
    if config.profile == "airgapped" and config.cluster.endpoint_public_access_cidrs:
        yield ConfigIssue(
            key_path("cluster", "endpointPublicAccessCidrs"),
            [str(c) for c in config.cluster.endpoint_public_access_cidrs],
            "an airgapped cluster has no public API endpoint; allowed: [] (reach it through the VPC)",
        )
    missing = [log for log in REQUIRED_LOG_TYPES if log not in config.cluster.log_types]
    if config.platform == "aws" and missing:
        yield ConfigIssue(
            key_path("cluster", "logTypes"),
            config.cluster.log_types,
            f"must include {', '.join(REQUIRED_LOG_TYPES)} (missing: {', '.join(missing)})",
        )


def gpu_pools(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    for i, pool in enumerate(config.gpu_pools):
        known = GPU_INSTANCES.get(pool.instance_type or "")
        if config.platform == "aws" and pool.instance_type is None:
            yield ConfigIssue(key_path("gpuPools", i, "instanceType"), None, f"required on platform 'aws'; known GPU types: {_known_types()}")
        if known:
            for key, given, expected in (
                ("gpusPerNode", pool.gpus_per_node, known.gpus),
                ("gpuMemoryGiB", pool.gpu_memory_gib, known.gpu_memory_gib),
            ):
                if given is not None and given != expected:
                    yield ConfigIssue(key_path("gpuPools", i, key), given, f"{pool.instance_type} has {expected}; remove the key or set {expected}")
        else:
            for key, value in (("gpuModel", pool.gpu_model), ("gpusPerNode", pool.gpus_per_node), ("gpuMemoryGiB", pool.gpu_memory_gib)):
                if value is None:
                    why = f"instance type '{pool.instance_type}' is not in the catalog" if pool.instance_type else "no instanceType names the hardware"
                    yield ConfigIssue(key_path("gpuPools", i, key), None, f"required: {why} (known GPU types: {_known_types()})")
        desired = pool.desired_size if pool.desired_size is not None else pool.min_size
        if not pool.min_size <= desired <= pool.max_size:
            yield ConfigIssue(
                key_path("gpuPools", i, "desiredSize"), desired, f"must be between minSize ({pool.min_size}) and maxSize ({pool.max_size})"
            )
    system = config.system_pool
    if system is not None and not system.min_size <= system.desired_size <= system.max_size:
        yield ConfigIssue(
            key_path("systemPool", "desiredSize"), system.desired_size, f"must be between minSize ({system.min_size}) and maxSize ({system.max_size})"
        )


def _known_types() -> str:
    families = sorted({t.split(".")[0] for t in GPU_INSTANCES})
    return ", ".join(f"{f}.*" for f in families)
