"""What ``airlock cost`` needs to know about a stack, read from its synthesized bundle.

Everything comes from ``resources.json`` (the Kubernetes objects are in it too), found by
resource type and by the labels the components put on their objects, so new resource
kinds or pools added elsewhere are picked up or reported, never silently skipped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from airlock.cost.errors import CostError
from runtime import yaml_safe

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"

GPU_POOL_LABEL = "airlock.dev/gpu-pool"
ROLE_LABEL = "airlock.dev/role"


@dataclass(frozen=True)
class NodeGroup:
    name: str
    instance_types: tuple[str, ...]
    minimum: int
    desired: int
    maximum: int
    disk_gib: float
    disk_type: str
    gpu_pool: str | None

    @property
    def instance_type(self) -> str:
        # A managed node group with several types launches any of them; price the first
        # (the one listed first is the one the group prefers) and say so in the report.
        return self.instance_types[0]


@dataclass(frozen=True)
class LocalModel:
    name: str
    weights: str
    params_b: float | None
    mixture_of_experts: bool
    precision: str
    gpus_per_replica: int
    replicas: int
    max_replicas: int
    gpu_pool: str | None


@dataclass(frozen=True)
class Route:
    name: str
    provider: str
    model: str
    base_url: str

    @property
    def local(self) -> bool:
        host = urlparse(self.base_url).hostname or ""
        return host.endswith(".svc.cluster.local") or host.endswith(".svc") or "." not in host


@dataclass(frozen=True)
class BundleFacts:
    stack: str
    platform: str
    profile: str
    region: str | None
    resources: list[dict[str, Any]]
    node_groups: list[NodeGroup]
    models: list[LocalModel]
    routes: list[Route]

    def of_type(self, type_token: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == type_token]


def read_bundle(bundle_dir: Path) -> BundleFacts:
    path = bundle_dir / "resources.json"
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise CostError(f"cannot read the bundle: {path}: {error.strerror} (run `airlock synth STACK --out DIR` first)") from None
    except json.JSONDecodeError as error:
        raise CostError(f"{path} is not valid JSON: {error}") from None
    try:
        resources = document["resources"]
        return BundleFacts(
            stack=document["stack"],
            platform=document["platform"],
            profile=document["profile"],
            region=_region(resources),
            resources=resources,
            node_groups=_node_groups(resources),
            models=_models(resources),
            routes=_routes(resources),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise CostError(f"{path} is not an airlock bundle this version can read ({type(error).__name__}: {error})") from None


def with_stack_region(facts: BundleFacts, stack_region: str | None) -> BundleFacts:
    """Price in the stack's ``aws:region``. A bundle alone records no region, so without the
    stack it is read from the subnets' zones, which validation ties to ``aws:region``."""
    if facts.platform != "aws" or stack_region is None:
        return facts
    if facts.region is not None and facts.region != stack_region:
        # Validation refuses zones outside the region, so this means a damaged bundle.
        raise CostError(f"stack '{facts.stack}' has aws:region {stack_region} but its subnets are in {facts.region}")
    return replace(facts, region=stack_region)


def _region(resources: list[dict[str, Any]]) -> str | None:
    # Subnets carry their availability zone; the region is the zone without its letter.
    zones = {r["inputs"].get("availabilityZone") for r in resources if r["type"] == "aws:ec2/subnet:Subnet"}
    regions = {re.sub(r"[a-z]$", "", z) for z in zones if isinstance(z, str) and z}
    if len(regions) > 1:
        raise ValueError(f"subnets span several regions: {sorted(regions)}")
    return regions.pop() if regions else None


def _launch_template_ids(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    # The bundle keeps the node group's reference to its launch template as the id the
    # synth fakes computed from the template's type and name; recompute them to follow it.
    from airlock.synth.fakes import fake_resource

    out = {}
    for r in resources:
        if r["type"] == LAUNCH_TEMPLATE:
            template_id, _ = fake_resource(r["type"], r["name"], {}, "us-east-1")
            out[template_id] = r["inputs"]
    return out


def _node_groups(resources: list[dict[str, Any]]) -> list[NodeGroup]:
    templates = _launch_template_ids(resources)
    groups = []
    for r in resources:
        if r["type"] != NODE_GROUP:
            continue
        inputs = r["inputs"]
        scaling = inputs["scalingConfig"]
        disk_gib, disk_type = float(inputs.get("diskSize") or 20), "gp3"
        template = templates.get((inputs.get("launchTemplate") or {}).get("id", ""))
        if template:
            volumes = [m.get("ebs") or {} for m in template.get("blockDeviceMappings") or []]
            disk_gib = float(sum(v.get("volumeSize") or 0 for v in volumes))
            types = {v.get("volumeType") or "gp3" for v in volumes}
            disk_type = types.pop() if len(types) == 1 else "+".join(sorted(types))
        groups.append(
            NodeGroup(
                name=inputs.get("nodeGroupName") or r["name"],
                instance_types=tuple(inputs.get("instanceTypes") or ()),
                minimum=int(scaling["minSize"]),
                desired=int(scaling.get("desiredSize", scaling["minSize"])),
                maximum=int(scaling["maxSize"]),
                disk_gib=disk_gib,
                disk_type=disk_type,
                gpu_pool=(inputs.get("labels") or {}).get(GPU_POOL_LABEL),
            )
        )
    return groups


_ACTIVE = re.compile(r"-A\d+(?:\.\d+)?B(?![A-Za-z0-9])")


def parameter_count(weights: str) -> tuple[float | None, bool]:
    """The parameter count in billions a model's name states ('Llama-3.3-70B' -> 70), and
    whether it is a mixture of experts ('30B-A3B'). None when the name does not say."""
    name = weights.rstrip("/")
    parts = [p for p in name.split("/") if p]
    # The repository name is the path part that states a size (weights may be an s3 URI
    # or a PVC path ending in a revision hash).
    for part in reversed(parts):
        sizes = [float(m) for m in re.findall(r"(?:^|[-_])(\d+(?:\.\d+)?)[Bb](?=$|[-_])", part)]
        if sizes:
            return max(sizes), bool(_ACTIVE.search(part))
    return None, False


def _flag(args: list[str], flag: str) -> str | None:
    for index, arg in enumerate(args):
        if arg == flag and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def _models(resources: list[dict[str, Any]]) -> list[LocalModel]:
    # An autoscaled model runs between the ScaledObject's minimum and maximum replicas
    # (the Deployment's own replica count is only its starting point).
    scaling: dict[str, tuple[int, int]] = {}
    for r in resources:
        if r["type"] == SCALED_OBJECT:
            spec = r["inputs"].get("spec") or {}
            target = (spec.get("scaleTargetRef") or {}).get("name")
            if target:
                scaling[target] = (int(spec.get("minReplicaCount", 1)), int(spec.get("maxReplicaCount", 1)))
    models = []
    for r in resources:
        if r["type"] != DEPLOYMENT:
            continue
        metadata = r["inputs"].get("metadata") or {}
        if (metadata.get("labels") or {}).get(ROLE_LABEL) != "model-server":
            continue
        name = metadata["name"]
        pod = r["inputs"]["spec"]["template"]["spec"]
        container = pod["containers"][0]
        args = [str(a) for a in container.get("args") or []]
        weights = args[0] if args and not args[0].startswith("-") else name
        limits = (container.get("resources") or {}).get("limits") or {}
        tp = int(limits.get("nvidia.com/gpu") or _flag(args, "--tensor-parallel-size") or 1)
        params_b, moe = parameter_count(weights)
        quantization = _flag(args, "--quantization")
        replicas = int(r["inputs"]["spec"].get("replicas", 1))
        low, high = scaling.get(name, (replicas, replicas))
        models.append(
            LocalModel(
                name=name,
                weights=weights,
                params_b=params_b,
                mixture_of_experts=moe,
                precision=quantization or "bf16",
                gpus_per_replica=tp,
                replicas=low,
                max_replicas=max(low, high),
                gpu_pool=(pod.get("nodeSelector") or {}).get(GPU_POOL_LABEL),
            )
        )
    return sorted(models, key=lambda m: m.name)


def _routes(resources: list[dict[str, Any]]) -> list[Route]:
    # The agent spec the orchestrator runs is a ConfigMap (agent.yaml); its routes are
    # what the runtime actually calls.
    routes: list[Route] = []
    for r in resources:
        if r["type"] != CONFIG_MAP:
            continue
        metadata = r["inputs"].get("metadata") or {}
        data = r["inputs"].get("data") or {}
        if (metadata.get("labels") or {}).get(ROLE_LABEL) != "orchestrator" or "agent.yaml" not in data:
            continue
        spec = yaml_safe.load_text(data["agent.yaml"]) or {}
        for name, route in sorted((spec.get("models") or {}).items()):
            routes.append(Route(name, str(route.get("provider", "")), str(route.get("model", "")), str(route.get("baseUrl", ""))))
    return routes
