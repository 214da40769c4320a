"""The stack config schema: every key a stack may set under the ``airlock:`` namespace.

This module only describes shapes, types, ranges and per-field defaults. Three phases
turn a stack file into a validated :class:`StackConfig` (see ``components.config.loader``):

1. shapes and types (this module, pydantic; unknown keys are errors with a suggestion);
2. profile and catalog defaults (``components.config.defaults``): a ``None`` here means
   "whatever the profile says", so one switch changes the whole posture;
3. cross-field rules (``components.config.rules``) that keep each profile's promise.

Keys are camelCase, like Pulumi's own (``airlock:gpuPools[0].gpusPerNode``).
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo

from components.config.images import ImageRef
from components.config.tool_calling import TOOL_CALL_PARSERS
from runtime.strict_numbers import reject_bool_for_number

Platform = Literal["aws", "kubernetes"]
Profile = Literal["cloud", "hybrid", "airgapped"]

# Names become parts of Kubernetes object names (``airlock-sbx-<name>``) and AWS names,
# so they are DNS-1035 labels short enough to leave room for prefixes.
Name = Annotated[str, StringConstraints(pattern=r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")]
# A Kubernetes resource quantity ("500m", "2", "4Gi").
Quantity = Annotated[
    str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
]
KubernetesVersion = Annotated[str, StringConstraints(pattern=r"^1\.[0-9]{2}$")]
AvailabilityZone = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9][a-z]$")]
Fqdn = Annotated[
    str,
    StringConstraints(
        pattern=r"^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", to_lower=True
    ),
]


def _tag_key(text: str) -> str:
    # AWS reserves the prefix: resources tagged aws:* are refused at apply time, case-insensitively.
    if text.lower().startswith("aws:"):
        raise ValueError(f"tag key {text!r} uses the prefix 'aws:', which AWS reserves for its own tags")
    return text


TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128), AfterValidator(_tag_key)]


def _image(text: str) -> str:
    ImageRef.parse(text)
    return text


ImageString = Annotated[str, AfterValidator(_image)]


_FQDN = re.compile(r"(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def _egress_entry(text: str) -> str:
    """An allowlist entry is a CIDR (or bare IP) or a DNS name reached through the proxy."""
    if re.fullmatch(r"[0-9./]+", text) or re.fullmatch(r"[0-9a-fA-F:./]*:[0-9a-fA-F:./]*", text):
        try:
            ipaddress.ip_network(text, strict=True)
        except ValueError as error:
            raise ValueError(f"{text!r} is not a valid CIDR ({error})") from None
        return text
    if _FQDN.fullmatch(text.lower()):
        return text.lower()
    raise ValueError(
        f"{text!r} is neither a CIDR (10.20.0.0/16, 2001:db8::/32) nor a DNS name (pypi.org, *.example.com)"
    )


EgressEntry = Annotated[str, AfterValidator(_egress_entry)]


def config_key(field_name: str) -> str:
    """snake_case field -> the camelCase key users write (``disk_size_gib`` -> ``diskSizeGiB``)."""
    return re.sub(r"Gib$", "GiB", to_camel(field_name))


class ConfigModel(BaseModel):
    """Base for every config block: camelCase keys only, unknown keys rejected."""

    model_config = ConfigDict(
        alias_generator=config_key,
        validate_by_alias=True,
        validate_by_name=False,
        extra="forbid",
        allow_inf_nan=False,
    )

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        return reject_bool_for_number(cls, value, info)


# --------------------------------------------------------------------------- network


class FlowLogsConfig(ConfigModel):
    retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653] = Field(
        90, description="CloudWatch Logs retention of the VPC flow logs, in days (a value CloudWatch accepts)."
    )


InterfaceEndpoint = Literal[
    "ecr.api", "ecr.dkr", "sts", "secretsmanager", "kms", "logs", "ec2", "sqs", "s3", "dynamodb",
    "eks", "eks-auth", "elasticloadbalancing", "autoscaling", "ssm", "monitoring",
]
GatewayEndpoint = Literal["s3", "dynamodb"]
NatGateways = Literal["none", "single", "perAz"]


class NetworkConfig(ConfigModel):
    """The VPC (platform ``aws`` only)."""

    vpc_cidr: ipaddress.IPv4Network = Field(
        ipaddress.IPv4Network("10.0.0.0/16"), description="IPv4 CIDR of the VPC, /16 to /24."
    )
    availability_zones: list[AvailabilityZone] | None = Field(
        None,
        min_length=1,
        max_length=6,
        description="Availability zones to spread subnets over. Default: the region's a, b and c zones. "
        "One zone is allowed (dev) but gives no zone redundancy.",
    )
    private_subnet_cidrs: list[ipaddress.IPv4Network] | None = Field(
        None,
        description="One private subnet CIDR per zone, inside vpcCidr; nodes and pods live here. "
        "Default: the first quarter-sized blocks of vpcCidr.",
    )
    public_subnet_cidrs: list[ipaddress.IPv4Network] | None = Field(
        None,
        description="One public subnet CIDR per zone, inside vpcCidr, holding only NAT gateways. "
        "Only when natGateways is not 'none'. Default: /24s carved from the last quarter of vpcCidr.",
    )
    nat_gateways: NatGateways | None = Field(
        None,
        description="Internet egress for the egress proxy: 'perAz' (one NAT per zone, zone-redundant), "
        "'single' (one NAT, cheaper), 'none' (no internet gateway and no NAT at all). "
        "Default: 'perAz' for cloud and hybrid, 'none' for airgapped.",
    )
    interface_endpoints: list[InterfaceEndpoint] | None = Field(
        None,
        description="AWS services reached through interface VPC endpoints (private DNS on, each with an "
        "endpoint policy scoped to this account). Default: ecr.api, ecr.dkr, sts, secretsmanager, kms, "
        "logs, ec2, sqs, s3 and dynamodb. The orchestrator may reach AWS only at addresses inside the "
        "private subnets, so sqs, dynamodb, s3, secretsmanager, kms, sts and logs are required on aws.",
    )
    gateway_endpoints: list[GatewayEndpoint] | None = Field(
        None, description="Gateway VPC endpoints. Default: s3 and dynamodb."
    )
    flow_logs: FlowLogsConfig = Field(
        default_factory=FlowLogsConfig, description="VPC flow logs (always on; only retention is configurable)."
    )


# --------------------------------------------------------------------------- cluster


ControlPlaneLog = Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]
# EKS control-plane logs every aws stack sends (the default, and a rule keeps them).
REQUIRED_LOG_TYPES: tuple[ControlPlaneLog, ...] = ("api", "audit", "authenticator")
Cni = Literal["vpc-cni", "cilium", "calico", "antrea"]


class ClusterDnsConfig(ConfigModel):
    namespace: Name = Field("kube-system", description="Namespace of the cluster DNS pods.")
    pod_labels: dict[str, str] = Field(
        default_factory=lambda: {"k8s-app": "kube-dns"},
        description="Labels that select the cluster DNS pods; sandboxes may reach only these on port 53.",
    )
    node_local_dns_ip: ipaddress.IPv4Address | None = Field(
        None,
        description="Address of NodeLocal DNSCache if the cluster runs it (usually 169.254.20.10); "
        "sandboxes get a /32 exception for it on port 53 only.",
    )


class AccessEntryConfig(ConfigModel):
    """aws: an IAM principal (CI role, teammate) given access to the cluster API."""

    principal_arn: Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+$")] = Field(
        description="IAM role or user ARN (arn:aws:iam::123456789012:role/ci-deployer)."
    )
    access: Literal["cluster-admin", "admin", "edit", "view"] = Field(
        "view",
        description="EKS access policy: cluster-admin (AmazonEKSClusterAdminPolicy), admin, edit or view "
        "(AmazonEKSAdminPolicy, AmazonEKSEditPolicy, AmazonEKSViewPolicy).",
    )
    namespaces: list[Name] = Field(
        default_factory=list,
        description="Limit the access to these namespaces. Empty (default): the whole cluster. Not for cluster-admin.",
    )


class ClusterConfig(ConfigModel):
    """The Kubernetes cluster: EKS built by Airlock (aws) or an existing one (kubernetes)."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-zA-Z][-a-zA-Z0-9_]{0,99}$")] | None = Field(
        None, description="Cluster name. Default: 'airlock-<stack>'."
    )
    kubernetes_version: KubernetesVersion = Field(
        "1.33",
        description="Kubernetes minor version: the EKS version on aws, the existing cluster's version on "
        "kubernetes. Manifests are validated against this version's OpenAPI schema.",
    )
    endpoint_public_access_cidrs: list[ipaddress.IPv4Network] = Field(
        default_factory=list,
        description="aws: CIDRs allowed to reach the EKS API endpoint from the internet. Empty (default) "
        "keeps the endpoint private. Never 0.0.0.0/0; not allowed in airgapped stacks.",
    )
    endpoint_private_access_cidrs: list[ipaddress.IPv4Network] = Field(
        default_factory=list,
        description="aws: private (RFC 1918) CIDRs, such as a VPN, Direct Connect or bastion range, allowed "
        "to reach the private EKS API endpoint on port 443. `pulumi up` deploys Kubernetes objects through "
        "this endpoint, so it must run from one of these ranges (or from endpointPublicAccessCidrs). "
        "Empty (default): only the cluster's own nodes reach the API.",
    )
    access_entries: list[AccessEntryConfig] = Field(
        default_factory=list,
        description="aws: further principals (a CI role, teammates) with access to the cluster API, as EKS access "
        "entries. Whoever runs the first `pulumi up` is cluster admin already.",
    )
    installed_addons: list[Literal["keda", "prometheus", "cloudnativepg"]] = Field(
        default_factory=list,
        description="Add-ons you installed on the cluster yourself (Airlock installs none of them): 'keda' (its CRDs "
        "and operator), 'prometheus' (scraping vLLM) and 'cloudnativepg' (the CloudNativePG operator and its "
        "CRDs). Model autoscaling needs keda and prometheus, orchestrator autoscaling needs keda, an "
        "orchestrator.store of kind cloudnativepg needs cloudnativepg; without them the custom resources fail "
        "with 'no matches for kind'. docs/aws.md and docs/workloads.md show the Helm commands.",
    )
    log_types: list[ControlPlaneLog] = Field(
        default_factory=lambda: list(REQUIRED_LOG_TYPES),
        description="aws: EKS control-plane log types sent to CloudWatch; api, audit and authenticator are required.",
    )
    log_retention_days: int = Field(
        365, ge=1, le=3653, description="aws: retention of the control-plane log group, in days."
    )
    kubeconfig: SecretStr | None = Field(
        None,
        description="kubernetes: kubeconfig of the existing cluster, set with "
        "`pulumi config set --secret --path airlock:cluster.kubeconfig \"$(cat kubeconfig)\"`. "
        "Default: the ambient KUBECONFIG of whoever runs pulumi up.",
    )
    context: str | None = Field(None, description="kubernetes: kubeconfig context to use.")
    cni: Cni | None = Field(
        None,
        description="The CNI that enforces NetworkPolicies. aws: always the VPC CNI with its network-policy "
        "agent enabled. kubernetes: say which CNI the cluster runs; without an enforcing CNI every "
        "sandbox policy is accepted and silently ignored.",
    )
    dns: ClusterDnsConfig = Field(default_factory=ClusterDnsConfig, description="The cluster's DNS service.")


class SystemPoolConfig(ConfigModel):
    """The node group for system and orchestration pods (platform ``aws`` only)."""

    instance_types: list[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")]] = Field(
        default_factory=lambda: ["m6i.large"], min_length=1, description="EC2 instance types of the system node group."
    )
    min_size: int = Field(2, ge=1, le=100, description="Minimum node count.")
    desired_size: int = Field(2, ge=1, le=100, description="Node count at creation.")
    max_size: int = Field(4, ge=1, le=100, description="Maximum node count.")
    disk_size_gib: int = Field(50, ge=20, le=16384, description="Encrypted root volume size, GiB.")


class CapacityReservationConfig(ConfigModel):
    """aws: an EC2 On-Demand Capacity Reservation or a Capacity Block for ML, in one zone."""

    id: Annotated[str, StringConstraints(pattern=r"^cr-[0-9a-f]{8,17}$")] = Field(description="Reservation id (cr-...).")
    type: Literal["reservation", "capacityBlock"] = Field(
        "reservation", description="'reservation' (On-Demand Capacity Reservation) or 'capacityBlock' (Capacity Block for ML)."
    )
    availability_zone: AvailabilityZone = Field(description="The reservation's zone; the pool's nodes launch only there.")


GpuAmiType = Literal["AL2023_x86_64_NVIDIA", "BOTTLEROCKET_x86_64_NVIDIA"]


class GpuPoolConfig(ConfigModel):
    """A pool of GPU nodes that model servers are scheduled onto."""

    name: Name = Field(description="Pool name; models name it in 'pool'. Labels nodes airlock.dev/gpu-pool=<name>.")
    instance_type: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")] | None = Field(
        None,
        description="aws (required): EC2 GPU instance type. Known types fill gpuModel, gpusPerNode and gpuMemoryGiB.",
    )
    gpu_model: str | None = Field(None, description="GPU model (H100, L40S, ...); node label nvidia.com/gpu.product.")
    gpus_per_node: int | None = Field(None, ge=1, le=16, description="GPUs per node.")
    gpu_memory_gib: float | None = Field(
        None, gt=0, le=512, description="Memory per GPU in GiB as nvidia-smi reports it."
    )
    min_size: int = Field(1, ge=0, le=1000, description="Minimum node count.")
    desired_size: int | None = Field(None, ge=0, le=1000, description="Node count at creation. Default: minSize.")
    max_size: int = Field(1, ge=1, le=1000, description="Maximum node count.")
    disk_size_gib: int = Field(
        500, ge=100, le=16384, description="aws: encrypted root volume, GiB; holds images and the model cache."
    )
    ami_type: GpuAmiType = Field("AL2023_x86_64_NVIDIA", description="aws: EKS-optimized NVIDIA AMI type.")
    capacity_type: Literal["ON_DEMAND", "SPOT"] = Field("ON_DEMAND", description="aws: on-demand or spot capacity.")
    # --- weights I/O and capacity (docs/aws.md, GPU node pools)
    node_storage: Literal["ebs", "instanceStore"] = Field(
        "ebs",
        description="aws: where pods' emptyDir volumes (the model cache) live: 'ebs' (the gp3 root volume, "
        "diskThroughputMibps) or 'instanceStore' (the instance's local NVMe disks as RAID0, AL2023 AMIs).",
    )
    disk_throughput_mibps: int = Field(
        125, ge=125, le=1000, description="aws: provisioned gp3 throughput of the node volume, MiB/s (gp3 baseline: 125)."
    )
    capacity_reservation: CapacityReservationConfig | None = Field(
        None, description="aws: launch into an EC2 capacity reservation or Capacity Block (p4d/p5 rarely run on demand without one)."
    )
    node_selector: dict[str, str] = Field(
        default_factory=dict,
        description="kubernetes: labels that select this pool's existing nodes. Default: airlock.dev/gpu-pool=<name>.",
    )


# --------------------------------------------------------------------------- models


class ModelArchitectureConfig(ConfigModel):
    parameters_billions: float = Field(gt=0, le=2000, description="Parameter count, in billions.")
    layers: int = Field(ge=1, le=1000, description="num_hidden_layers from config.json.")
    kv_heads: int = Field(ge=1, le=1024, description="num_key_value_heads from config.json.")
    head_dim: int = Field(ge=1, le=1024, description="head_dim (or hidden_size / num_attention_heads).")


# Where the model cache volume is mounted in vLLM pods; pre-staged weights (weightsSource
# 'pvc') are addressed by their path under it.
MODEL_CACHE_MOUNT = "/models"


class ModelCacheConfig(ConfigModel):
    type: Literal["pvc", "emptyDir"] = Field(
        "pvc",
        description="Where weights are cached: a PersistentVolumeClaim shared across restarts, or a node-local "
        "emptyDir re-filled on every start (s3 weights only).",
    )
    size_gib: int | None = Field(
        None, ge=1, le=65536, description="Cache size, GiB. Default: twice the weight size, at least 50."
    )
    storage_class: str | None = Field(None, description="StorageClass of the cache PVC. Default: the cluster's.")
    existing_claim: Name | None = Field(
        None,
        description="An existing PVC in the models namespace that already holds the weights (weightsSource 'pvc'); "
        "mounted read-only instead of creating a cache PVC.",
    )


class ModelResourcesConfig(ConfigModel):
    """Host CPU and memory of one vLLM replica (its GPUs are tensorParallelSize)."""

    cpu_request: Quantity | None = Field(None, description="CPU request per replica. Default: 2 cores per GPU.")
    memory_request: Quantity | None = Field(
        None,
        description="Memory request per replica, including the memory-backed /dev/shm. Default: 10Gi plus 6Gi per GPU.",
    )
    cpu_limit: Quantity | None = Field(None, description="CPU limit per replica. Default: twice the CPU request.")
    memory_limit: Quantity | None = Field(
        None, description="Memory limit per replica. Default: 1.5 times the memory request."
    )


class AutoscalingConfig(ConfigModel):
    enabled: bool = Field(
        False,
        description="Scale replicas on vllm:num_requests_waiting with KEDA; needs cluster.installedAddons: [keda, prometheus].",
    )
    max_replicas: int | None = Field(None, ge=1, le=100, description="Upper bound. Default: replicas.")
    waiting_requests_threshold: int = Field(5, ge=1, description="Waiting requests per replica that trigger scale-out.")
    polling_interval_seconds: int = Field(15, ge=5, description="How often KEDA queries the metric.")
    cooldown_seconds: int = Field(360, ge=30, description="Idle time before scaling back in.")
    prometheus_url: Annotated[str, StringConstraints(pattern=r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?(/[^\s]*)?$")] = Field(
        "http://prometheus-server.monitoring.svc:80",
        description="Prometheus that scrapes vLLM, queried by KEDA's prometheus scaler; its namespace "
        "(http://<service>.<namespace>.svc:<port>) may scrape the model servers.",
    )


class ModelConfig(ConfigModel):
    """A local open-weight model served by vLLM on a GPU pool."""

    name: Name = Field(description="Stable served-model-name and Service name (e.g. 'llama-70b').")
    hugging_face_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][-A-Za-z0-9_.]*/[-A-Za-z0-9_.]+$")] = Field(
        description="Hugging Face repository id of the weights (org/name)."
    )
    revision: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{40}$")] = Field(
        description="Commit sha (40 hex) of the weights, so a redeploy never silently changes the model."
    )
    weights_source: Literal["huggingface", "s3", "pvc"] = Field(
        "huggingface",
        description="Where vLLM gets weights: 'huggingface' (downloaded at start; cloud and hybrid only), "
        "'s3' (a mirror at weightsUri, streamed), 'pvc' (pre-staged on the cache volume).",
    )
    weights_uri: Annotated[str, StringConstraints(pattern=r"^(s3://[a-z0-9][-a-z0-9.]{1,61}[a-z0-9](/.*)?|/.+)$")] | None = Field(
        None,
        description="s3: s3://bucket/prefix of the mirrored weights. pvc: path of the weights on the cache volume, "
        "which is mounted at /models (e.g. /models/meta-llama/Llama-3.3-70B-Instruct).",
    )
    architecture: ModelArchitectureConfig | None = Field(
        None, description="Size and attention shape. Default: from the built-in catalog for known repositories."
    )
    dtype: Literal["bfloat16", "float16"] = Field("bfloat16", description="--dtype of activations and unquantized weights.")
    quantization: Literal["none", "fp8", "awq", "gptq"] = Field("none", description="Weight quantization.")
    kv_cache_dtype: Literal["auto", "fp8"] = Field("auto", description="--kv-cache-dtype.")
    max_model_len: int = Field(8192, ge=256, le=1_048_576, description="--max-model-len: longest context, tokens.")
    max_num_seqs: int = Field(16, ge=1, le=4096, description="--max-num-seqs: sequences served concurrently per replica.")
    tensor_parallel_size: int = Field(1, ge=1, le=16, description="--tensor-parallel-size: GPUs per replica.")
    gpu_memory_utilization: float = Field(0.9, gt=0.1, le=0.98, description="--gpu-memory-utilization.")
    enable_prefix_caching: bool = Field(True, description="--enable-prefix-caching (agent prompts share long prefixes).")
    tool_calling: bool = Field(
        True,
        description="--enable-auto-tool-choice: agents with tools need it (without it vLLM answers 400 to their requests).",
    )
    tool_call_parser: Literal[TOOL_CALL_PARSERS] | None = Field(  # type: ignore[valid-type]
        None, description="--tool-call-parser: how the model writes tool calls. Default: by model family (docs/workloads.md)."
    )
    chat_template: Annotated[str, StringConstraints(pattern=r"^/[^\s]+$")] | None = Field(
        None,
        description="--chat-template: path of a Jinja chat template inside the container, for a model whose own "
        "template cannot render tools. Default: by model family (none of the catalog's families needs one).",
    )
    replicas: int = Field(1, ge=1, le=100, description="Replicas (the minimum when autoscaling).")
    pool: Name = Field(description="Name of the gpuPools entry the replicas run on.")
    cache: ModelCacheConfig = Field(default_factory=ModelCacheConfig, description="The model cache volume.")
    resources: ModelResourcesConfig = Field(
        default_factory=ModelResourcesConfig,
        description="Host CPU and memory per replica (size them to the pool's nodes); GPUs come from tensorParallelSize.",
    )
    autoscaling: AutoscalingConfig = Field(default_factory=AutoscalingConfig, description="KEDA autoscaling.")


class CloudModelConfig(ConfigModel):
    """A model behind a cloud API, reached through the egress proxy (cloud and hybrid only)."""

    name: Name = Field(description="Route name the agent spec refers to (e.g. 'planner').")
    provider: Literal["anthropic", "openai", "bedrock"] = Field(description="API provider.")
    model: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(description="Provider model id.")
    base_url: Annotated[str, StringConstraints(pattern=r"^https://[a-z0-9.-]+(:[0-9]+)?(/.*)?$")] | None = Field(
        None,
        description="https endpoint. Default: https://api.anthropic.com, https://api.openai.com/v1, or "
        "https://bedrock-runtime.<region>.amazonaws.com. Its host joins the egress proxy allowlist.",
    )
    api_key_secret: Name | None = Field(
        None, description="Name of the secrets entry holding the API key (anthropic, openai). Bedrock uses IAM."
    )


# --------------------------------------------------------------------------- sandboxes


class SandboxLimitsConfig(ConfigModel):
    cpu: Quantity = Field("1", description="CPU limit per executor pod.")
    memory: Quantity = Field("1Gi", description="Memory limit per executor pod.")
    ephemeral_storage: Quantity = Field("2Gi", description="Ephemeral storage limit per executor pod.")


class SandboxQuotaConfig(ConfigModel):
    pods: int = Field(20, ge=1, le=10000, description="Pods allowed in the sandbox namespace.")
    cpu: Quantity = Field("8", description="Total CPU limits in the namespace.")
    memory: Quantity = Field("16Gi", description="Total memory limits in the namespace.")
    ephemeral_storage: Quantity = Field("40Gi", description="Total ephemeral storage limits in the namespace.")


class SandboxConfig(ConfigModel):
    """A sandbox pool: a deny-by-default namespace running the sandbox executor."""

    name: Name = Field(description="Pool name; namespace 'airlock-sbx-<name>'.")
    replicas: int = Field(1, ge=1, le=100, description="Executor replicas.")
    egress_allowlist: list[EgressEntry] = Field(
        default_factory=list,
        description="What sandboxed code may reach: DNS names (through the egress proxy, port 443) or CIDRs "
        "(NetworkPolicy ipBlock, TCP). Empty (default): nothing. Never 0.0.0.0/0, IMDS, link-local, CGNAT "
        "or loopback.",
    )
    isolation: Literal["container", "gvisor"] = Field(
        "container",
        description="'gvisor' runs executor pods under the gVisor RuntimeClass: platform kubernetes only, on nodes "
        "with runsc registered as the containerd handler 'runsc' (refused on aws, whose nodes have no gVisor); "
        "'container' uses the default runtime.",
    )
    limits: SandboxLimitsConfig = Field(default_factory=SandboxLimitsConfig, description="Per-pod limits.")
    quota: SandboxQuotaConfig = Field(default_factory=SandboxQuotaConfig, description="Namespace ResourceQuota.")
    exec_timeout_seconds: int = Field(60, ge=1, le=3600, description="Wall-clock limit for one code execution.")


# --------------------------------------------------------------------------- secrets


class SecretConfig(ConfigModel):
    """A credential the orchestrator hands to tools at execution time (never to the model)."""

    name: Name = Field(description="Secret name; tools and cloudModels refer to it.")
    description: str = Field("", max_length=500, description="What the credential is for (shown in audits).")
    value: SecretStr | None = Field(
        None,
        description="The value, always as a Pulumi secret: `pulumi config set --secret --path "
        "'airlock:secrets[N].value' ...`. Unset: the store entry is created empty and filled out of band.",
    )


# --------------------------------------------------------------------------- workloads


class ResourcesConfig(ConfigModel):
    cpu_request: Quantity = Field("250m", description="CPU request.")
    memory_request: Quantity = Field("512Mi", description="Memory request.")
    cpu_limit: Quantity = Field("1", description="CPU limit.")
    memory_limit: Quantity = Field("1Gi", description="Memory limit.")


StoreKind = Literal["sqlite", "postgresql", "cloudnativepg", "aws"]
# A host the orchestrator reaches the database at: a DNS name or an IP address.
DatabaseHost = Annotated[
    str,
    StringConstraints(
        pattern=r"^(([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*|[0-9]{1,3}(\.[0-9]{1,3}){3})$",
        max_length=253,
        to_lower=True,
    ),
]
# PostgreSQL identifiers the runtime's URL carries as they are (no quoting needed).
PgIdentifier = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]{0,62}$")]


class StoreConfig(ConfigModel):
    """Where the agent runtime keeps its state (tasks, checkpoints, ledger, queue, audit): docs/runtime.md, Stores."""

    kind: StoreKind | None = Field(
        None,
        description="'sqlite' (a file on each pod's own volume: one replica, lost with the pod), 'postgresql' (an "
        "external PostgreSQL server you run), 'cloudnativepg' (a CloudNativePG Cluster in the orchestrator's "
        "namespace; needs cluster.installedAddons: [cloudnativepg]) or 'aws' (SQS, DynamoDB and S3, platform aws "
        "only). Default: 'aws' on platform aws, 'sqlite' on kubernetes.",
    )
    host: DatabaseHost | None = Field(
        None,
        description="postgresql: the server's DNS name or IP address. Airgapped stacks need an address inside the "
        "cluster or your network: a cluster DNS name (<service>.<namespace>.svc[.cluster.local]) or a private "
        "(RFC 1918) IPv4 address.",
    )
    port: int = Field(5432, ge=1, le=65535, description="postgresql: the server's TCP port.")
    cidr: ipaddress.IPv4Network | None = Field(
        None,
        description="postgresql with a host outside the cluster: the addresses the server is reached at, which the "
        "orchestrator's NetworkPolicy allows on port (policies match addresses, not names); /16 or narrower. "
        "Default: host/32 for an IP address host; not used for a cluster DNS name (its namespace is allowed).",
    )
    ssl_mode: Literal["disable", "prefer", "require"] = Field(
        "require", description="postgresql and cloudnativepg: libpq sslmode of the runtime's and KEDA's connections."
    )
    database: PgIdentifier = Field("airlock", description="postgresql and cloudnativepg: the database the runtime uses.")
    user: PgIdentifier = Field(
        "airlock", description="postgresql and cloudnativepg: the role the runtime logs in as (it owns the database)."
    )
    password_secret: Name | None = Field(
        None,
        description="postgresql (required): name of a Kubernetes Secret you create in the orchestrator's namespace "
        "with the password under the key 'password'; mounted as a file, never put in the environment or the URL. "
        "cloudnativepg: leave unset (the operator generates '<cluster>-app').",
    )
    instances: int = Field(
        3, ge=1, le=9, description="cloudnativepg: PostgreSQL instances (one primary, the rest streaming replicas)."
    )
    storage_size: Quantity = Field("10Gi", description="cloudnativepg: volume size per instance.")
    storage_class: Name | None = Field(
        None, description="cloudnativepg: StorageClass of the instances' volumes. Default: the cluster's default class."
    )
    operator_namespace: Name = Field(
        "cnpg-system",
        description="cloudnativepg: namespace of the CloudNativePG operator, which may reach the instances' status "
        "port (8000) and PostgreSQL port.",
    )
    image: ImageString | None = Field(
        None,
        description="cloudnativepg: the PostgreSQL image (imageName of the Cluster). Default: the operator's own "
        "default. Airgapped stacks set it, by digest; it is pulled through images.mirror when one is set.",
    )


class OrchestratorAutoscalingConfig(ConfigModel):
    """KEDA scaling of the orchestrator on the work queue's depth (not on CPU)."""

    enabled: bool = Field(
        False,
        description="Scale the runtime on queued tasks with a KEDA ScaledObject: the aws-sqs-queue trigger on aws, "
        "the postgresql trigger on postgresql and cloudnativepg stores. Needs cluster.installedAddons: [keda] and a "
        "shared store (not sqlite).",
    )
    max_replicas: int = Field(10, ge=1, le=100, description="Upper bound; the lower bound is orchestrator.replicas.")
    queue_length: int = Field(
        8, ge=1, le=1000, description="Queued tasks per replica KEDA aims for (each replica runs AIRLOCK_CONCURRENCY at once)."
    )
    polling_interval_seconds: int = Field(15, ge=5, le=3600, description="How often KEDA reads the queue depth.")
    cooldown_seconds: int = Field(300, ge=30, le=86400, description="How long the queue stays empty before scaling in.")
    keda_namespace: Name = Field(
        "keda",
        description="Namespace of the KEDA operator: with a cloudnativepg store its postgresql scaler connects to "
        "the database, which then admits it on the PostgreSQL port.",
    )


class OrchestratorConfig(ConfigModel):
    """The agent runtime Deployment."""

    replicas: int | None = Field(
        None,
        ge=1,
        le=100,
        description="Runtime replicas (the minimum when autoscaling). More than one needs a shared store "
        "(store.kind other than 'sqlite'). Default: 2 with a shared store, 1 with sqlite.",
    )
    store: StoreConfig = Field(default_factory=StoreConfig, description="Where the runtime keeps its state.")
    autoscaling: OrchestratorAutoscalingConfig = Field(
        default_factory=OrchestratorAutoscalingConfig, description="KEDA autoscaling on queue depth."
    )
    agent_spec: Annotated[str, StringConstraints(pattern=r"^[^/].*\.ya?ml$")] | None = Field(
        None,
        description="Agent spec file the runtime runs (docs/agent-spec.md), relative to the project directory. "
        "Its routes must be models this stack serves. Its content hash is the agent version. Default: "
        "agents/<stack>.yaml.",
    )
    resources: ResourcesConfig = Field(default_factory=ResourcesConfig, description="Container resources.")
    audit_retention_days: int = Field(
        365, ge=1, le=36500, description="aws: Object Lock (compliance mode) retention of audit records, days."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Runtime log level.")


class EgressProxyConfig(ConfigModel):
    """The FQDN-allowlisting forward proxy, the only workload allowed to reach the internet."""

    enabled: bool | None = Field(
        None, description="Default: true for cloud and hybrid; airgapped stacks have no proxy."
    )
    allowlist: list[Fqdn] = Field(
        default_factory=list,
        description="Extra DNS names the proxy lets through (CONNECT, 443). Cloud model hosts are added automatically.",
    )
    replicas: int = Field(2, ge=1, le=20, description="Proxy replicas.")


class ObservabilityConfig(ConfigModel):
    """The OpenTelemetry collector the runtime exports to."""

    exporter: Literal["debug", "otlp", "otlphttp"] = Field(
        "debug", description="Collector exporter: 'debug' (collector log), 'otlp' (gRPC) or 'otlphttp'."
    )
    endpoint: Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$|^[a-z0-9.-]+:[0-9]+$")] | None = Field(
        None, description="Exporter endpoint (required for otlp and otlphttp)."
    )
    headers_secret: Name | None = Field(
        None, description="Name of a secrets entry holding exporter headers (e.g. an API key)."
    )
    capture_message_content: bool = Field(
        False, description="Record prompts and completions in spans. Off by default: they may hold personal data."
    )


class ImagesConfig(ConfigModel):
    """Container images. Cloud and hybrid may use version tags; airgapped needs digests."""

    mirror: Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*$")] | None = Field(
        None,
        description="Registry prefix every image is pulled from (e.g. harbor.corp.example/airlock). aws: "
        "default is this stack's ECR registry for airgapped stacks. kubernetes + airgapped: required.",
    )
    runtime: ImageString = Field("airlock/runtime:0.1.0", description="Agent runtime (images/runtime.Dockerfile).")
    sandbox_executor: ImageString = Field(
        "airlock/sandbox-executor:0.1.0", description="Sandbox executor (images/sandbox-executor.Dockerfile)."
    )
    vllm: ImageString = Field(
        "vllm/vllm-openai:v0.31.0@sha256:c1c9f6fd5c109ba7f0546a59f5b2f15fb87f64c77782e90a27b648b42a8e67c3",
        description="vLLM OpenAI-compatible server.",
    )
    egress_proxy: ImageString = Field(
        "ubuntu/squid:6.6-24.04_edge@sha256:8a3baed477e2c282ab8aa5edad442f69873246964f225c5c2ae8364b6610963c",
        description="Squid forward proxy.",
    )
    otel_collector: ImageString = Field(
        "otel/opentelemetry-collector-contrib:0.144.0@sha256:213886eb6407af91b87fa47551c3632be1a6419ff3a5114ef1e6fc364628496f",
        description="OpenTelemetry collector.",
    )
    nvidia_device_plugin: ImageString = Field(
        "nvcr.io/nvidia/k8s-device-plugin:v0.17.0@sha256:7089559ce6153018806857f5049085bae15b3bf6f1c8bd19d8b12f707d087dea",
        description="NVIDIA device plugin DaemonSet.",
    )


def _is_image_field(field: FieldInfo) -> bool:
    return any(isinstance(meta, AfterValidator) and meta.func is _image for meta in field.metadata)


# The image fields of ImagesConfig (every ImageString; not the mirror), in declaration order.
# The pinning rule and the per-image registries iterate this, so a new image field can
# skip neither.
IMAGE_KEYS: tuple[str, ...] = tuple(name for name, field in ImagesConfig.model_fields.items() if _is_image_field(field))


# --------------------------------------------------------------------------- audit


class AuditSuppressionConfig(ConfigModel):
    """An accepted `airlock audit` finding: which rule, on which resource, why, and until when."""

    rule: str = Field(pattern=r"^AIRLOCK-[A-Z0-9]+-[0-9]{3}$", description="Rule id, e.g. AIRLOCK-K8S-013 (docs/auditors.md lists them).")
    resource: str = Field(min_length=1, description="Logical resource name as in resources.json (or `type::name`).")
    reason: str = Field(min_length=10, description="Why the finding is accepted; printed in every report.")
    expires: datetime.date = Field(description="Last day it applies (YYYY-MM-DD); after that it is itself a finding.")


# --------------------------------------------------------------------------- the stack


class StackConfig(ConfigModel):
    """Everything under ``airlock:`` in ``stacks/Pulumi.<stack>.yaml``."""

    platform: Platform = Field(description="'aws' (VPC + EKS built by Airlock) or 'kubernetes' (an existing cluster).")
    deploy_phase: Literal["bootstrap", "full"] = Field(
        "full",
        description="aws: 'bootstrap' deploys only the network, the cluster, the registry and the secret store, so "
        "images can be pushed (`airlock images`) and secrets filled before anything pulls them; 'full' (default) "
        "deploys everything. docs/aws.md, first deploy.",
    )
    profile: Profile = Field(description="'cloud', 'hybrid' or 'airgapped': how models and the internet are reached.")
    tags: dict[TagKey, Annotated[str, StringConstraints(max_length=256)]] = Field(
        default_factory=dict, description="Extra tags on every AWS resource."
    )
    network: NetworkConfig | None = Field(None, description="aws: the VPC. Default: profile defaults.")
    cluster: ClusterConfig = Field(default_factory=ClusterConfig, description="The Kubernetes cluster.")
    system_pool: SystemPoolConfig | None = Field(None, description="aws: the system node group.")
    gpu_pools: list[GpuPoolConfig] = Field(default_factory=list, description="GPU node pools for model servers.")
    models: list[ModelConfig] = Field(default_factory=list, description="Local models served by vLLM.")
    cloud_models: list[CloudModelConfig] = Field(
        default_factory=list, description="Cloud API models (cloud and hybrid only)."
    )
    sandboxes: list[SandboxConfig] = Field(
        default_factory=lambda: [SandboxConfig.model_validate({"name": "default"})],
        description="Sandbox pools. Default: one pool named 'default' with an empty allowlist.",
    )
    secrets: list[SecretConfig] = Field(default_factory=list, description="Credentials for tools and cloud models.")
    orchestrator: OrchestratorConfig = Field(default_factory=OrchestratorConfig, description="The agent runtime.")
    egress_proxy: EgressProxyConfig = Field(default_factory=EgressProxyConfig, description="The egress proxy.")
    observability: ObservabilityConfig = Field(
        default_factory=ObservabilityConfig, description="The OpenTelemetry collector."
    )
    images: ImagesConfig = Field(default_factory=ImagesConfig, description="Container images.")
    audit_suppressions: list[AuditSuppressionConfig] = Field(
        default_factory=list, description="Accepted `airlock audit` findings, each with a reason and an expiry date."
    )

