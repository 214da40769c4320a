"""Cross-field rules: the promises each profile and platform make, checked on the whole stack.

Each rule is a small generator of :class:`ConfigIssue` naming the exact key that has to
change. Rules run after profile defaults are applied (``components.profiles``), so they
see the stack as it would be deployed, and they report every problem at once.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Iterator

from kubernetes_validate.utils import all_versions

from components.agent_spec_check import agent_spec_issues
from components.catalog import GPU_INSTANCES
from components.config import MODEL_CACHE_MOUNT, StackConfig
from components.config_errors import ConfigIssue, key_path
from components.images import ImageRef, registry_host
from components.profiles import PROFILES
from components.quantities import parse_quantity
from components.sizing import replica_memory
from components.workloads.endpoints import parse_endpoint


@dataclass(frozen=True)
class RuleContext:
    stack: str
    region: str | None
    project_dir: Path
    # Top-level keys (``airlock:secrets``) whose value is, or contains, a Pulumi secret.
    secret_keys: frozenset[str] = frozenset()


Rule = Callable[[StackConfig, RuleContext], Iterable[ConfigIssue]]

# Destinations a sandbox must never reach, whatever its allowlist says.
FORBIDDEN_EGRESS = {
    ipaddress.ip_network("169.254.0.0/16"): "link-local, including the instance metadata service 169.254.169.254",
    ipaddress.ip_network("100.64.0.0/10"): "carrier-grade NAT space (100.64.0.0/10)",
    ipaddress.ip_network("127.0.0.0/8"): "loopback",
    ipaddress.ip_network("0.0.0.0/8"): "'this network' (0.0.0.0/8)",
    ipaddress.ip_network("fe80::/10"): "IPv6 link-local",
    ipaddress.ip_network("::1/128"): "IPv6 loopback",
    ipaddress.ip_network("fd00:ec2::254/128"): "the IPv6 instance metadata service fd00:ec2::254",
}
PRIVATE_RANGES = [
    ipaddress.ip_network("10.0.0.0/8"),
    ipaddress.ip_network("172.16.0.0/12"),
    ipaddress.ip_network("192.168.0.0/16"),
    ipaddress.ip_network("fc00::/7"),
]
REQUIRED_LOGS = ("api", "audit", "authenticator")
AIRGAP_INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts", "secretsmanager", "kms", "logs", "ec2", "sqs")
AIRGAP_GATEWAY_ENDPOINTS = ("s3", "dynamodb")
# AWS APIs the agent runtime calls (queue, state, audit, secrets, tokens, logs).
RUNTIME_INTERFACE_ENDPOINTS = ("sqs", "dynamodb", "s3", "secretsmanager", "kms", "sts", "logs")
IMAGE_FIELDS = ("runtime", "sandboxExecutor", "vllm", "egressProxy", "otelCollector", "nvidiaDevicePlugin")


def _supported_kubernetes_versions() -> list[str]:
    return sorted({".".join(v.split(".")[:2]) for v in all_versions()}, key=lambda v: int(v.split(".")[1]))


# --------------------------------------------------------------------------- platform


def platform_scope(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    if config.platform == "kubernetes":
        for field, key in (("network", "network"), ("system_pool", "systemPool")):
            if field in config.model_fields_set:
                yield ConfigIssue(key_path(key), "(set)", "applies to platform 'aws' only; remove it for platform 'kubernetes'")
        for key, cidrs in (
            ("endpointPublicAccessCidrs", config.cluster.endpoint_public_access_cidrs),
            ("endpointPrivateAccessCidrs", config.cluster.endpoint_private_access_cidrs),
        ):
            if cidrs:
                yield ConfigIssue(
                    key_path("cluster", key),
                    [str(c) for c in cidrs],
                    "applies to platform 'aws' only (the existing cluster's API endpoint is not managed here)",
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
        if not any(cidr.subnet_of(r) for r in PRIVATE_RANGES[:3]):
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
    missing = [log for log in REQUIRED_LOGS if log not in config.cluster.log_types]
    if config.platform == "aws" and missing:
        yield ConfigIssue(
            key_path("cluster", "logTypes"),
            config.cluster.log_types,
            f"must include {', '.join(REQUIRED_LOGS)} (missing: {', '.join(missing)})",
        )


# --------------------------------------------------------------------------- names


def unique_names(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    groups: list[tuple[str, list[str]]] = [
        ("gpuPools", [p.name for p in config.gpu_pools]),
        ("sandboxes", [s.name for s in config.sandboxes]),
        ("secrets", [s.name for s in config.secrets]),
    ]
    for key, names in groups:
        yield from _duplicates((key,), names, f"{key} names must be unique", leaf="name")
    # Local and cloud models share one namespace: the agent spec routes by these names.
    routes = [(("models", i), m.name) for i, m in enumerate(config.models)]
    routes += [(("cloudModels", i), m.name) for i, m in enumerate(config.cloud_models)]
    seen: dict[str, tuple] = {}
    for where, name in routes:
        if name in seen:
            yield ConfigIssue(
                key_path(*where, "name"), name, f"already used by {key_path(*seen[name])}; model names (local and cloud) must be unique"
            )
        else:
            seen[name] = where


def _duplicates(parts: tuple[str, ...], names: list[str], message: str, leaf: str | None = None) -> Iterator[ConfigIssue]:
    """Report the second occurrence of each repeated name (the first one is the keeper)."""
    counts = Counter(names)
    reported: set[str] = set()
    for i, name in enumerate(names):
        if counts[name] > 1 and name not in reported and names.index(name) != i:
            reported.add(name)
            where = key_path(*parts, i, leaf) if leaf else key_path(*parts, i)
            yield ConfigIssue(where, name, f"{message}; '{name}' appears {counts[name]} times")


# --------------------------------------------------------------------------- network


def network_layout(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    network = config.network
    if config.platform != "aws" or network is None:
        return
    vpc = network.vpc_cidr
    if not 16 <= vpc.prefixlen <= 24:
        yield ConfigIssue(key_path("network", "vpcCidr"), str(vpc), "must be between /16 and /24")
    if not any(vpc.subnet_of(r) for r in PRIVATE_RANGES[:3]):
        yield ConfigIssue(key_path("network", "vpcCidr"), str(vpc), "must be a private (RFC 1918) range: 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
    zones = network.availability_zones or []
    if not zones:
        yield ConfigIssue(key_path("network", "availabilityZones"), [], "at least one availability zone is required")
    for i, zone in enumerate(zones):
        if ctx.region and not zone.startswith(ctx.region):
            yield ConfigIssue(key_path("network", "availabilityZones", i), zone, f"is not a zone of region {ctx.region} (aws:region)")
    yield from _duplicates(("network", "availabilityZones"), zones, "zones must be unique")

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
            key_path("network", "availabilityZones"), zones, "a single zone has no redundancy; fine for dev, not for production", "warning"
        )


# --------------------------------------------------------------------------- profile promises


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


def images_pinned(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    images = config.images
    mirror_host = registry_host(images.mirror) if images.mirror else None
    for key in IMAGE_FIELDS:
        field = _snake(key)
        text = getattr(images, field)
        ref = ImageRef.parse(text)
        path = key_path("images", key)
        if ref.tag == "latest" and not ref.digest:
            yield ConfigIssue(path, text, "'latest' floats; pin a version tag, or a digest (@sha256:...)")
        elif ref.tag is None and ref.digest is None:
            yield ConfigIssue(path, text, "has neither tag nor digest, so it means 'latest'; pin a version tag or a digest (@sha256:...)")
        if config.profile == "airgapped":
            if ref.digest is None:
                yield ConfigIssue(path, text, "an airgapped stack references every image by digest: add @sha256:<digest> from your mirror")
            if ref.registry and ref.registry != mirror_host:
                allowed = f"'{images.mirror}/...' or a reference without a registry" if images.mirror else "a reference without a registry (it is pulled from this stack's ECR)"
                yield ConfigIssue(path, text, f"registry '{ref.registry}' is outside the stack's mirror; allowed: {allowed}")


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)


# --------------------------------------------------------------------------- pools and models


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


def models_fit(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    pools = {pool.name: pool for pool in config.gpu_pools}
    gpus_claimed: Counter[str] = Counter()
    for i, model in enumerate(config.models):
        pool = pools.get(model.pool)
        if pool is None:
            yield ConfigIssue(
                key_path("models", i, "pool"), model.pool, f"no such GPU pool; allowed: {', '.join(sorted(pools)) or 'none defined in gpuPools'}"
            )
            continue
        if model.architecture is None:
            yield ConfigIssue(
                key_path("models", i, "architecture"),
                None,
                f"required: '{model.hugging_face_id}' is not in the built-in catalog; give parametersBillions, layers, kvHeads and headDim from its config.json",
            )
            continue
        gpus = pool.gpus_per_node
        if gpus is None or pool.gpu_memory_gib is None:
            continue  # reported by gpu_pools
        tp = model.tensor_parallel_size
        if gpus % tp != 0:
            allowed = ", ".join(str(d) for d in range(1, gpus + 1) if gpus % d == 0)
            yield ConfigIssue(
                key_path("models", i, "tensorParallelSize"), tp, f"must divide gpusPerNode ({gpus}) of pool '{pool.name}'; allowed: {allowed}"
            )
            continue
        memory = replica_memory(model, pool)
        if not memory.fits:
            yield ConfigIssue(
                key_path("models", i),
                model.name,
                f"does not fit pool '{pool.name}': needs {memory.required_gib:.1f} GiB per replica (weights "
                f"{memory.weights_gib:.1f} + KV cache {memory.kv_cache_gib:.1f} for maxModelLen {model.max_model_len} x "
                f"maxNumSeqs {model.max_num_seqs} + overhead {memory.overhead_gib:.1f}) but {tp} x {pool.gpu_memory_gib} GiB x "
                f"gpuMemoryUtilization {model.gpu_memory_utilization} = {memory.available_gib:.1f} GiB; lower maxModelLen or "
                "maxNumSeqs, quantize, or raise tensorParallelSize",
            )
        # An autoscaled model may grow to maxReplicas; every one of them needs its GPUs.
        replicas = model.autoscaling.max_replicas or model.replicas if model.autoscaling.enabled else model.replicas
        gpus_claimed[pool.name] += tp * replicas
        yield from _weights_location(i, model)
    for name, claimed in gpus_claimed.items():
        pool = pools[name]
        capacity = pool.max_size * (pool.gpus_per_node or 0)
        if claimed > capacity:
            index = config.gpu_pools.index(pool)
            yield ConfigIssue(
                key_path("gpuPools", index, "maxSize"),
                pool.max_size,
                f"models on pool '{name}' need {claimed} GPUs (replicas, or autoscaling.maxReplicas, x tensorParallelSize) "
                f"but {pool.max_size} nodes x {pool.gpus_per_node} GPUs = {capacity}; raise maxSize or lower replicas",
            )


def s3_weights_need_aws(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    """Streaming weights from S3 needs credentials; only the aws platform provides them (IRSA)."""
    if config.platform != "kubernetes":
        return
    for i, model in enumerate(config.models):
        if model.weights_source == "s3":
            yield ConfigIssue(
                key_path("models", i, "weightsSource"),
                "s3",
                "on platform 'kubernetes' model servers have no S3 credentials; allowed: 'pvc' (pre-staged weights) "
                "or, in cloud and hybrid stacks, 'huggingface'",
            )


def _weights_location(i: int, model) -> Iterator[ConfigIssue]:
    uri = model.weights_uri
    path = key_path("models", i, "weightsUri")
    if model.weights_source == "huggingface" and uri:
        yield ConfigIssue(path, uri, "only for weightsSource 's3' or 'pvc'; remove it to download from Hugging Face")
    if model.weights_source == "s3" and not (uri or "").startswith("s3://"):
        yield ConfigIssue(path, uri, "weightsSource 's3' needs the mirror as s3://bucket/prefix")
    if model.weights_source == "pvc" and not (uri or "").startswith("/"):
        yield ConfigIssue(path, uri, "weightsSource 'pvc' needs the absolute path of the weights on the cache volume (e.g. /models/llama-70b)")
    if model.weights_source == "pvc" and (uri or "").startswith("/") and not _under_cache_mount(uri or ""):
        yield ConfigIssue(
            path,
            uri,
            f"pre-staged weights are read from the cache volume, mounted at {MODEL_CACHE_MOUNT}; allowed: a path under "
            f"{MODEL_CACHE_MOUNT}/ without '..' (e.g. {MODEL_CACHE_MOUNT}/{model.hugging_face_id})",
        )
    if model.weights_source == "pvc" and model.cache.type != "pvc":
        yield ConfigIssue(key_path("models", i, "cache", "type"), model.cache.type, "pre-staged weights live on a PVC; allowed: 'pvc'")
    if model.weights_source == "pvc" and not model.cache.existing_claim:
        yield ConfigIssue(
            key_path("models", i, "cache", "existingClaim"), None, "weightsSource 'pvc' needs the name of the PVC that holds the pre-staged weights"
        )
    if model.cache.existing_claim and model.weights_source != "pvc":
        yield ConfigIssue(
            key_path("models", i, "cache", "existingClaim"), model.cache.existing_claim, "only for weightsSource 'pvc' (pre-staged weights)"
        )


def _under_cache_mount(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return path.startswith(f"{MODEL_CACHE_MOUNT}/") and ".." not in parts and len(parts) > 2


def model_serving(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    """What the model-server Deployments need beyond fitting their pool."""
    for i, model in enumerate(config.models):
        autoscaling = model.autoscaling
        if autoscaling.enabled and autoscaling.max_replicas is not None and autoscaling.max_replicas < model.replicas:
            yield ConfigIssue(
                key_path("models", i, "autoscaling", "maxReplicas"),
                autoscaling.max_replicas,
                f"smaller than replicas ({model.replicas}), the autoscaling minimum; allowed: {model.replicas} or more",
            )
        prometheus = _endpoint(autoscaling.prometheus_url)
        if autoscaling.enabled and prometheus is not None and not prometheus.in_cluster:
            yield ConfigIssue(
                key_path("models", i, "autoscaling", "prometheusUrl"),
                autoscaling.prometheus_url,
                "is not an in-cluster Service (http://<service>.<namespace>.svc:<port>); model servers admit metric "
                "scrapes only from the namespace this URL names, so KEDA would see no vllm:num_requests_waiting",
                "warning",
            )
        most = autoscaling.max_replicas or model.replicas if autoscaling.enabled else model.replicas
        cache = model.cache
        if cache.type == "pvc" and not cache.existing_claim and most > 1 and cache.storage_class is None:
            yield ConfigIssue(
                key_path("models", i, "cache", "storageClass"),
                None,
                f"up to {most} replicas share one cache PVC, which needs a ReadWriteMany StorageClass (EFS, NFS, CephFS); "
                "the cluster's default class (EBS on EKS) is ReadWriteOnce and would leave replicas Pending. Name an RWX "
                "class, or use cache.type 'emptyDir' (a cache per pod, refilled on start)",
                "warning",
            )


def _endpoint(text: str):
    try:
        return parse_endpoint(text)
    except ValueError:
        return None


def workload_resources(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    blocks = [(("orchestrator", "resources"), config.orchestrator.resources)]
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


def egress_routes(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    """Internet names are reached only through the egress proxy; a stack that turns it off
    cannot also depend on it. (Airgapped stacks reject these names outright.)"""
    for i, cloud_model in enumerate(config.cloud_models):
        if cloud_model.base_url and _endpoint(cloud_model.base_url) is None:
            yield ConfigIssue(key_path("cloudModels", i, "baseUrl"), cloud_model.base_url, "has a port outside 1-65535")
    endpoint = _endpoint(config.observability.endpoint) if config.observability.endpoint else None
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


# --------------------------------------------------------------------------- cloud models, secrets


def references(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    secrets = {s.name for s in config.secrets}
    known = ", ".join(sorted(secrets)) or "none defined in secrets"
    for i, cloud_model in enumerate(config.cloud_models):
        path = key_path("cloudModels", i, "apiKeySecret")
        if cloud_model.provider == "bedrock":
            if cloud_model.api_key_secret:
                yield ConfigIssue(path, cloud_model.api_key_secret, "bedrock authenticates with the orchestrator's IAM role; remove the key")
        elif cloud_model.api_key_secret is None:
            yield ConfigIssue(path, None, f"required for provider '{cloud_model.provider}'; name a secrets entry ({known})")
        elif cloud_model.api_key_secret not in secrets:
            yield ConfigIssue(path, cloud_model.api_key_secret, f"no such secret; allowed: {known}")
    headers = config.observability.headers_secret
    if headers and headers not in secrets:
        yield ConfigIssue(key_path("observability", "headersSecret"), headers, f"no such secret; allowed: {known}")
    for i, secret in enumerate(config.secrets):
        if secret.value is not None and key_path("secrets") not in ctx.secret_keys:
            yield ConfigIssue(
                key_path("secrets", i, "value"),
                "(set)",
                "is stored in plaintext in the stack file; set it as a Pulumi secret with "
                f"`pulumi config set --secret --path 'airlock:secrets[{i}].value' ...`",
            )
        # On aws the entry exists (empty) in Secrets Manager; on kubernetes the orchestrator
        # component says what happens instead (the file is not mounted).
        if secret.value is None and config.platform == "aws":
            yield ConfigIssue(
                key_path("secrets", i, "value"),
                None,
                f"not set: the store entry is created empty; set it with `pulumi config set --secret --path 'airlock:secrets[{i}].value' ...` "
                "or fill it out of band",
                "warning",
            )


def observability(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    obs = config.observability
    if obs.exporter in ("otlp", "otlphttp") and not obs.endpoint:
        yield ConfigIssue(key_path("observability", "endpoint"), None, f"required when exporter is '{obs.exporter}'")
    if obs.exporter == "debug" and obs.endpoint:
        yield ConfigIssue(key_path("observability", "endpoint"), obs.endpoint, "the 'debug' exporter writes to the collector log; set exporter 'otlp' or 'otlphttp' to use an endpoint")


def orchestrator(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    yield from agent_spec_issues(config, ctx.project_dir)


# --------------------------------------------------------------------------- sandboxes


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
    try:
        return ipaddress.ip_network(entry, strict=True)
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


RULES: tuple[Rule, ...] = (
    s3_weights_need_aws,
    platform_scope,
    kubernetes_version,
    eks_endpoint_and_logs,
    unique_names,
    network_layout,
    airgapped_promise,
    vpc_endpoints,
    images_pinned,
    gpu_pools,
    models_fit,
    model_serving,
    workload_resources,
    egress_routes,
    references,
    observability,
    sandbox_egress,
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
