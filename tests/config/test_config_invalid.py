"""Every rule of the stack config, broken one at a time on an otherwise valid stack.

Each case names the key path the user must fix; the message must also show the value
and say what is allowed. These run on the loader alone (no Pulumi), so they are fast.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

import pytest

from components.config.errors import ConfigError
from components.config.loader import flatten, load
from support import PROJECT_DIR, stack_document

Edit = Callable[[dict[str, Any]], None]
SHA = "0e9e39f249a16976918f6564b8830bc894c89659"


def _cfg(stack: str) -> dict[str, Any]:
    return stack_document(stack)["config"]


def _errors(config: dict[str, Any], stack: str = "test") -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load(flatten(config), stack, PROJECT_DIR)
    return [str(issue) for issue in raised.value.issues]


def _set(key: str, value: Any) -> Edit:
    def edit(config: dict[str, Any]) -> None:
        config[f"airlock:{key}" if ":" not in key else key] = value

    return edit


def _path(path: list, value: Any) -> Edit:
    """Set a nested value: _path(["airlock:models", 0, "pool"], "x")."""

    def edit(config: dict[str, Any]) -> None:
        target: Any = config
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return edit


def _delete(key: str) -> Edit:
    def edit(config: dict[str, Any]) -> None:
        del config[key]

    return edit


def _append(key: str, item: Any) -> Edit:
    def edit(config: dict[str, Any]) -> None:
        config.setdefault(key, []).append(copy.deepcopy(item))

    return edit


def _chain(*edits: Edit) -> Edit:
    def edit(config: dict[str, Any]) -> None:
        for one in edits:
            one(config)

    return edit


AIRGAP_IMAGE = "ubuntu/squid:6.6-24.04_edge"

# (case id, base stack, edit, expected key path, a phrase of "what is allowed" or why)
CASES: list[tuple[str, str, Edit, str, str]] = [
    ("platform-unknown", "dev", _set("platform", "gcp"), "airlock:platform", "'aws' or 'kubernetes'"),
    ("profile-missing", "dev", _delete("airlock:profile"), "airlock:profile", "required"),
    ("profile-unknown", "dev", _set("profile", "offline"), "airlock:profile", "'cloud', 'hybrid' or 'airgapped'"),
    ("top-level-typo", "dev", _set("modles", []), "airlock:modles", "did you mean 'models'"),
    ("nested-typo", "prod", _path(["airlock:gpuPools", 0, "gpuPerNode"], 8), "airlock:gpuPools[0].gpuPerNode", "did you mean 'gpusPerNode'"),
    ("namespace-typo", "dev", _set("airlok:profile", "cloud"), "airlok:profile", "did you mean 'airlock:profile'"),
    ("tensor-parallel-divides", "prod", _path(["airlock:models", 1, "tensorParallelSize"], 3), "airlock:models[1].tensorParallelSize", "allowed: 1"),
    ("model-does-not-fit", "prod", _path(["airlock:models", 0, "maxNumSeqs"], 256), "airlock:models[0]", "does not fit pool 'gpu-h100'"),
    ("model-pool-missing", "prod", _path(["airlock:models", 1, "pool"], "gpu-a10"), "airlock:models[1].pool", "allowed: gpu-h100, gpu-l40s"),
    ("model-capacity", "prod", _path(["airlock:models", 0, "replicas"], 5), "airlock:gpuPools[0].desiredSize", "need 20 GPUs"),
    ("model-revision-unpinned", "prod", _path(["airlock:models", 0, "revision"], "main"), "airlock:models[0].revision", "40-character commit sha"),
    ("model-arch-unknown", "prod", _path(["airlock:models", 0, "huggingFaceId"], "acme/secret-model"), "airlock:models[0].architecture", "not in the built-in catalog"),
    ("model-names-unique", "prod", _path(["airlock:models", 1, "name"], "llama-70b"), "airlock:models[1].name", "must be unique"),
    ("model-cloud-name-clash", "prod", _path(["airlock:cloudModels", 0, "name"], "llama-8b"), "airlock:cloudModels[0].name", "must be unique"),
    ("sandbox-names-unique", "prod", _path(["airlock:sandboxes", 1, "name"], "default"), "airlock:sandboxes[1].name", "must be unique"),
    ("name-not-dns-label", "dev", _path(["airlock:sandboxes", 0, "name"], "Default_Pool"), "airlock:sandboxes[0].name", "lowercase name"),
    ("vpc-cidr-invalid", "prod", _path(["airlock:network", "vpcCidr"], "10.30.0.0/33"), "airlock:network.vpcCidr", "IPv4 network"),
    ("vpc-cidr-host-bits", "prod", _path(["airlock:network", "vpcCidr"], "10.30.0.1/16"), "airlock:network.vpcCidr", "IPv4 network"),
    ("vpc-cidr-public", "prod", _path(["airlock:network", "vpcCidr"], "8.8.0.0/16"), "airlock:network.vpcCidr", "private (RFC 1918)"),
    ("subnets-overlap", "prod", _path(["airlock:network", "privateSubnetCidrs"], ["10.30.0.0/18", "10.30.32.0/19", "10.30.128.0/18"]), "airlock:network.privateSubnetCidrs[1]", "overlaps"),
    ("subnet-outside-vpc", "prod", _path(["airlock:network", "privateSubnetCidrs"], ["10.31.0.0/18", "10.30.64.0/18", "10.30.128.0/18"]), "airlock:network.privateSubnetCidrs[0]", "inside vpcCidr"),
    ("subnet-count", "prod", _path(["airlock:network", "privateSubnetCidrs"], ["10.30.0.0/18"]), "airlock:network.privateSubnetCidrs", "one CIDR per availability zone"),
    ("zone-outside-region", "prod", _path(["airlock:network", "availabilityZones"], ["us-east-1a", "us-west-2b", "us-east-1c"]), "airlock:network.availabilityZones[1]", "not a zone of region us-east-1"),
    ("aws-needs-region", "dev", _delete("aws:region"), "aws:region", "required for platform 'aws'"),
    ("eks-public-to-world", "prod", _path(["airlock:cluster", "endpointPublicAccessCidrs"], ["0.0.0.0/0"]), "airlock:cluster.endpointPublicAccessCidrs[0]", "never be open to the whole internet"),
    ("eks-logs-required", "prod", _path(["airlock:cluster", "logTypes"], ["api", "authenticator"]), "airlock:cluster.logTypes", "missing: audit"),
    ("kubernetes-version-unknown", "prod", _path(["airlock:cluster", "kubernetesVersion"], "1.99"), "airlock:cluster.kubernetesVersion", "allowed: 1.2"),
    ("airgap-no-cloud-models", "airgap", _set("cloudModels", [{"name": "planner", "provider": "anthropic", "model": "claude-sonnet-4-5"}]), "airlock:cloudModels[0].provider", "serves only local models"),
    ("airgap-no-nat", "airgap", _path(["airlock:network", "natGateways"], "single"), "airlock:network.natGateways", "allowed: 'none'"),
    ("airgap-no-proxy", "airgap", _set("egressProxy", {"enabled": True}), "airlock:egressProxy.enabled", "allowed: false"),
    ("airgap-no-hub-downloads", "airgap", _chain(_path(["airlock:models", 1, "weightsSource"], "huggingface"), _path(["airlock:models", 1, "weightsUri"], None)), "airlock:models[1].weightsSource", "allowed: 's3'"),
    ("airgap-no-public-api", "airgap", _set("cluster", {"endpointPublicAccessCidrs": ["203.0.113.0/24"]}), "airlock:cluster.endpointPublicAccessCidrs", "no public API endpoint"),
    ("airgap-images-by-digest", "airgap", _path(["airlock:images", "egressProxy"], AIRGAP_IMAGE), "airlock:images.egressProxy", "by digest"),
    ("airgap-endpoints-kept", "airgap", _path(["airlock:network", "interfaceEndpoints"], ["ecr.api", "ecr.dkr", "sts"]), "airlock:network.interfaceEndpoints", "secretsmanager, kms, logs, ec2"),
    ("airgap-sandbox-no-dns-names", "airgap", _path(["airlock:sandboxes", 0, "egressAllowlist"], ["pypi.org"]), "airlock:sandboxes[0].egressAllowlist[0]", "allowed: private CIDRs"),
    ("airgap-sandbox-private-only", "airgap", _path(["airlock:sandboxes", 0, "egressAllowlist"], ["151.101.0.0/16"]), "airlock:sandboxes[0].egressAllowlist[0]", "only private ranges"),
    ("image-latest", "dev", _set("images", {"runtime": "airlock/runtime:latest"}), "airlock:images.runtime", "'latest' floats"),
    ("image-untagged", "dev", _set("images", {"vllm": "vllm/vllm-openai"}), "airlock:images.vllm", "neither tag nor digest"),
    ("image-malformed", "dev", _set("images", {"vllm": "vllm/vllm-openai:v1@sha256:xyz"}), "airlock:images.vllm", "not an image reference"),
    ("sandbox-allow-everything", "dev", _path(["airlock:sandboxes", 0, "egressAllowlist"], ["0.0.0.0/0"]), "airlock:sandboxes[0].egressAllowlist[0]", "every address"),
    ("sandbox-imds", "dev", _path(["airlock:sandboxes", 0, "egressAllowlist"], ["169.254.169.254"]), "airlock:sandboxes[0].egressAllowlist[0]", "instance metadata"),
    ("sandbox-imds-v6", "dev", _path(["airlock:sandboxes", 0, "egressAllowlist"], ["fd00:ec2::254/128"]), "airlock:sandboxes[0].egressAllowlist[0]", "IPv6 instance metadata"),
    ("sandbox-cgnat", "dev", _path(["airlock:sandboxes", 0, "egressAllowlist"], ["100.64.0.0/16"]), "airlock:sandboxes[0].egressAllowlist[0]", "carrier-grade NAT"),
    ("sandbox-loopback", "dev", _path(["airlock:sandboxes", 0, "egressAllowlist"], ["127.0.0.0/8"]), "airlock:sandboxes[0].egressAllowlist[0]", "loopback"),
    ("sandbox-too-broad", "dev", _path(["airlock:sandboxes", 0, "egressAllowlist"], ["10.0.0.0/4"]), "airlock:sandboxes[0].egressAllowlist[0]", "not a valid CIDR"),
    ("sandbox-not-a-host", "dev", _path(["airlock:sandboxes", 0, "egressAllowlist"], ["https://pypi.org"]), "airlock:sandboxes[0].egressAllowlist[0]", "neither a CIDR"),
    ("sandbox-bad-quantity", "dev", _path(["airlock:sandboxes", 0, "limits"], {"memory": "1 GB"}), "airlock:sandboxes[0].limits.memory", "Kubernetes quantity"),
    ("sandbox-quota-too-small", "prod", _path(["airlock:sandboxes", 0, "quota"], {"memory": "2Gi"}), "airlock:sandboxes[0].quota.memory", "could never all start"),
    ("cloud-model-secret-unknown", "dev", _path(["airlock:cloudModels", 0, "apiKeySecret"], "openai-key"), "airlock:cloudModels[0].apiKeySecret", "allowed: anthropic-api-key"),
    ("cloud-model-secret-missing", "dev", _path(["airlock:cloudModels", 0, "apiKeySecret"], None), "airlock:cloudModels[0].apiKeySecret", "required for provider 'anthropic'"),
    ("cloud-model-http", "dev", _path(["airlock:cloudModels", 0, "baseUrl"], "http://api.anthropic.com"), "airlock:cloudModels[0].baseUrl", "https:// URL"),
    ("gpu-count-contradicts-catalog", "prod", _path(["airlock:gpuPools", 0, "gpusPerNode"], 4), "airlock:gpuPools[0].gpusPerNode", "p5.48xlarge has 8"),
    ("gpu-unknown-type-needs-specs", "prod", _path(["airlock:gpuPools", 1, "instanceType"], "g7.xlarge"), "airlock:gpuPools[1].gpusPerNode", "not in the catalog"),
    ("gpu-pool-sizes", "prod", _path(["airlock:gpuPools", 1, "desiredSize"], 9), "airlock:gpuPools[1].desiredSize", "between minSize (2) and maxSize (4)"),
    ("kubernetes-no-network", "onprem", _set("network", {"vpcCidr": "10.0.0.0/16"}), "airlock:network", "platform 'aws' only"),
    ("kubernetes-needs-cni", "onprem", _path(["airlock:cluster", "cni"], None), "airlock:cluster.cni", "enforces NetworkPolicies"),
    ("kubernetes-airgap-needs-mirror", "onprem", _path(["airlock:images", "mirror"], None), "airlock:images.mirror", "required for an airgapped stack"),
    ("kubernetes-no-s3-weights", "onprem", _chain(_path(["airlock:models", 1, "weightsSource"], "s3"), _path(["airlock:models", 1, "weightsUri"], "s3://weights/qwen3-8b"), _path(["airlock:models", 1, "cache"], {"type": "emptyDir"})), "airlock:models[1].weightsSource", "allowed: 'pvc'"),
    ("pvc-weights-need-claim", "onprem", _path(["airlock:models", 0, "cache"], {"type": "pvc"}), "airlock:models[0].cache.existingClaim", "pre-staged weights"),
    ("otlp-needs-endpoint", "dev", _set("observability", {"exporter": "otlp"}), "airlock:observability.endpoint", "required when exporter is 'otlp'"),
    ("agent-spec-missing", "dev", _set("orchestrator", {"agentSpec": "agents/nope.yaml"}), "airlock:orchestrator.agentSpec", "no such file"),
    ("wrong-type", "dev", _set("orchestrator", {"replicas": "two"}), "airlock:orchestrator.replicas", "valid integer"),
    ("out-of-range", "prod", _path(["airlock:models", 0, "gpuMemoryUtilization"], 1.5), "airlock:models[0].gpuMemoryUtilization", "less than or equal to 0.98"),
    ("tool-parser-unknown", "onprem", _path(["airlock:models", 1, "toolCallParser"], "qwen_magic"), "airlock:models[1].toolCallParser", "'hermes'"),
    ("tool-parser-no-family-default", "staging", _chain(_path(["airlock:models", 0, "huggingFaceId"], "acme/house-model-7b"), _path(["airlock:models", 0, "architecture"], {"parametersBillions": 7, "layers": 32, "kvHeads": 8, "headDim": 128})), "airlock:models[0].toolCallParser", "no default for 'acme/house-model-7b'"),
]


@pytest.mark.parametrize("case, stack, edit, path, allowed", CASES, ids=[c[0] for c in CASES])
def test_invalid_config_names_key_value_and_what_is_allowed(case: str, stack: str, edit: Edit, path: str, allowed: str) -> None:
    config = _cfg(stack)
    edit(config)
    errors = _errors(config, stack)
    matching = [e for e in errors if e.startswith(f"{path} = ")]
    assert matching, f"no error for {path}; got: {errors}"
    assert any(allowed in e for e in matching), f"{path}: expected '{allowed}' in {matching}"


def test_there_are_at_least_25_invalid_cases() -> None:
    assert len(CASES) >= 25


def test_every_problem_is_reported_at_once() -> None:
    config = _cfg("prod")
    config["airlock:models"][0]["tensorParallelSize"] = 3
    config["airlock:sandboxes"][0]["egressAllowlist"] = ["169.254.169.254"]
    config["airlock:cluster"]["endpointPublicAccessCidrs"] = ["0.0.0.0/0"]
    errors = _errors(config, "prod")
    assert len(errors) == 3


def test_secret_values_never_appear_in_messages() -> None:
    config = _cfg("dev")
    config["airlock:secrets"][0]["value"] = ["not", "a", "string", "hunter2"]
    errors = _errors(config, "dev")
    assert any(e.startswith("airlock:secrets[0].value = [secret]") for e in errors)
    assert not any("hunter2" in e for e in errors)


def test_unknown_key_lists_the_valid_keys_here() -> None:
    config = _cfg("dev")
    config["airlock:network"]["natGateway"] = "single"
    (error,) = _errors(config, "dev")
    assert "did you mean 'natGateways'" in error
    assert "allowed keys:" in error and "vpcCidr" in error
