"""Profile and catalog defaults: what ``None`` in the schema resolves to.

A profile is one switch that sets the whole posture (see docs/profiles.md). A stack may
override any default; ``components.config.rules`` then rejects overrides that break the
profile's promise. Defaults are applied in place, once, before the rules run.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from decimal import Decimal

from components.config.catalog import GPU_INSTANCES, MODEL_ARCHITECTURES
from components.config.quantities import parse_quantity
from components.config.tool_calling import tool_family
from components.config.schema import (
    GatewayEndpoint,
    InterfaceEndpoint,
    NatGateways,
    ModelArchitectureConfig,
    ModelConfig,
    NetworkConfig,
    StackConfig,
    SystemPoolConfig,
)
from components.config.sizing import weight_gib


@dataclass(frozen=True)
class ProfileDefaults:
    nat_gateways: NatGateways
    egress_proxy: bool
    # Whether anything in the stack may reach the internet at all.
    internet: bool


PROFILES: dict[str, ProfileDefaults] = {
    "cloud": ProfileDefaults(nat_gateways="perAz", egress_proxy=True, internet=True),
    "hybrid": ProfileDefaults(nat_gateways="perAz", egress_proxy=True, internet=True),
    "airgapped": ProfileDefaults(nat_gateways="none", egress_proxy=False, internet=False),
}

# Interface endpoints every stack gets by default. Airgapped nodes cannot bootstrap or
# pull images without the first seven. The orchestrator's NetworkPolicy lets it reach AWS
# only at addresses inside the private subnets, so every API the runtime calls (sqs, s3,
# dynamodb, secretsmanager, kms, sts, logs) needs an interface endpoint, in every profile:
# the s3 and dynamodb gateway endpoints route to public AWS addresses.
DEFAULT_INTERFACE_ENDPOINTS: list[InterfaceEndpoint] = ["ecr.api", "ecr.dkr", "sts", "secretsmanager", "kms", "logs", "ec2", "sqs", "s3", "dynamodb"]
DEFAULT_GATEWAY_ENDPOINTS: list[GatewayEndpoint] = ["s3", "dynamodb"]

CLOUD_BASE_URLS = {
    "anthropic": "https://api.anthropic.com",
    "openai": "https://api.openai.com/v1",
    "bedrock": "https://bedrock-runtime.{region}.amazonaws.com",
}


def default_subnets(
    vpc: ipaddress.IPv4Network, zones: int
) -> tuple[list[ipaddress.IPv4Network], list[ipaddress.IPv4Network]]:
    """Private subnets take large equal blocks (pods get VPC addresses); public subnets,
    which only hold NAT gateways, are small blocks carved from the last block."""
    split = 2 if zones <= 3 else 3
    blocks = list(vpc.subnets(prefixlen_diff=split))
    private = blocks[:zones]
    public_prefix = min(vpc.prefixlen + 8, 28)
    public = list(blocks[-1].subnets(new_prefix=max(public_prefix, blocks[-1].prefixlen)))[:zones]
    return private, public


def apply_defaults(config: StackConfig, stack: str, region: str | None) -> None:
    """Fill every ``None`` the schema left for the profile or the catalogs to decide."""
    profile = PROFILES[config.profile]

    if config.cluster.name is None:
        config.cluster.name = f"airlock-{stack}"
    if config.platform == "aws":
        config.cluster.cni = config.cluster.cni or "vpc-cni"
        _network_defaults(config, profile, region)
        if config.system_pool is None:
            config.system_pool = SystemPoolConfig()

    for pool in config.gpu_pools:
        known = GPU_INSTANCES.get(pool.instance_type or "")
        if known:
            pool.gpu_model = pool.gpu_model or known.gpu_model
            pool.gpus_per_node = pool.gpus_per_node or known.gpus
            pool.gpu_memory_gib = pool.gpu_memory_gib or known.gpu_memory_gib
        if pool.desired_size is None:
            pool.desired_size = pool.min_size
        if not pool.node_selector:
            pool.node_selector = {"airlock.dev/gpu-pool": pool.name}

    for model in config.models:
        known_arch = MODEL_ARCHITECTURES.get(model.hugging_face_id)
        if model.architecture is None and known_arch:
            model.architecture = ModelArchitectureConfig.model_validate(
                {
                    "parametersBillions": known_arch.parameters_billions,
                    "layers": known_arch.layers,
                    "kvHeads": known_arch.kv_heads,
                    "headDim": known_arch.head_dim,
                }
            )
        if model.cache.size_gib is None and model.architecture is not None:
            weights = weight_gib(model.architecture.parameters_billions, model.quantization)
            model.cache.size_gib = max(50, int(2 * weights) + 1)
        if model.autoscaling.max_replicas is None:
            model.autoscaling.max_replicas = model.replicas
        family = tool_family(model.hugging_face_id)
        if model.tool_calling and family is not None:
            model.tool_call_parser = model.tool_call_parser or family.parser
            model.chat_template = model.chat_template or family.chat_template
        _model_resources(model)

    for cloud_model in config.cloud_models:
        if cloud_model.base_url is None:
            cloud_model.base_url = CLOUD_BASE_URLS[cloud_model.provider].format(region=region or "us-east-1")

    orchestrator = config.orchestrator
    if orchestrator.agent_spec is None:
        orchestrator.agent_spec = f"agents/{stack}.yaml"
    if orchestrator.store.kind is None:
        # aws provisions the SQS queue, DynamoDB table and buckets the AWS backend uses.
        orchestrator.store.kind = "aws" if config.platform == "aws" else "sqlite"
    if orchestrator.replicas is None:
        # A SQLite file belongs to one pod: a second replica would run a second, separate store.
        orchestrator.replicas = 1 if orchestrator.store.kind == "sqlite" else 2

    if config.egress_proxy.enabled is None:
        config.egress_proxy.enabled = profile.egress_proxy


def _network_defaults(config: StackConfig, profile: ProfileDefaults, region: str | None) -> None:
    if config.network is None:
        config.network = NetworkConfig()
    network = config.network
    if network.availability_zones is None:
        network.availability_zones = [f"{region}{suffix}" for suffix in "abc"] if region else []
    if network.nat_gateways is None:
        network.nat_gateways = profile.nat_gateways
    zones = len(network.availability_zones)
    private, public = default_subnets(network.vpc_cidr, max(zones, 1))
    if network.private_subnet_cidrs is None:
        network.private_subnet_cidrs = private[:zones]
    if network.public_subnet_cidrs is None:
        network.public_subnet_cidrs = public[:zones] if network.nat_gateways != "none" else []
    if network.interface_endpoints is None:
        network.interface_endpoints = list(DEFAULT_INTERFACE_ENDPOINTS)
    if network.gateway_endpoints is None:
        network.gateway_endpoints = list(DEFAULT_GATEWAY_ENDPOINTS)


def _model_resources(model: ModelConfig) -> None:
    """Host resources of a vLLM replica, scaled by its GPUs: CPU for the scheduler, tokenizer
    and one worker per GPU; memory for the engine, pinned buffers and /dev/shm (NCCL)."""
    resources = model.resources
    gpus = model.tensor_parallel_size
    if resources.cpu_request is None:
        resources.cpu_request = str(2 * gpus)
    if resources.memory_request is None:
        resources.memory_request = f"{10 + 6 * gpus}Gi"
    if resources.cpu_limit is None:
        resources.cpu_limit = _scaled(resources.cpu_request, 2)
    if resources.memory_limit is None:
        resources.memory_limit = _scaled(resources.memory_request, 1.5)


def _scaled(quantity: str, factor: float) -> str:
    """``quantity`` times ``factor``, in Mi for memory and millicores for CPU (exact, readable)."""
    value = parse_quantity(quantity) * Decimal(str(factor))
    if quantity[-1:] == "i" or quantity[-1:] in "kMGT":
        mebibytes = math.ceil(value / 2**20)
        return f"{mebibytes // 1024}Gi" if mebibytes % 1024 == 0 else f"{mebibytes}Mi"
    millicores = math.ceil(value * 1000)
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"
