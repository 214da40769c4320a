"""Valid stacks and what the profile and catalog defaults resolve to."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from components.config.loader import flatten, load
from support import PROJECT_DIR, STACKS, make_project, stack_document


def _load(config: dict[str, Any], stack: str = "test", tmp_path=None):
    """Shipped stacks load from the project; others from a copy with a matching agent spec."""
    project = PROJECT_DIR if tmp_path is None else make_project(tmp_path, {stack: {"config": config}})
    return load(flatten(config), stack, project)


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stacks_are_valid(stack: str) -> None:
    loaded = _load(stack_document(stack)["config"], stack)
    assert loaded.config.cluster.name


def test_minimal_aws_stack_gets_three_zones_and_nat_per_zone(tmp_path) -> None:
    minimal = {
        "aws:region": "eu-west-1",
        "airlock:platform": "aws",
        "airlock:profile": "hybrid",
        "airlock:cloudModels": [{"name": "default", "provider": "anthropic", "model": "claude-haiku-4-5", "apiKeySecret": "key"}],
        "airlock:secrets": [{"name": "key"}],
    }
    loaded = _load(minimal, "mini", tmp_path)
    network = loaded.config.network
    assert network.availability_zones == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert network.nat_gateways == "perAz"
    assert loaded.config.cluster.name == "airlock-mini"
    assert loaded.config.egress_proxy.enabled is True
    subnets = network.private_subnet_cidrs + network.public_subnet_cidrs
    assert all(a == b or not a.overlaps(b) for a in subnets for b in subnets)
    assert all(s.subnet_of(network.vpc_cidr) for s in subnets)


def test_airgapped_profile_defaults_remove_egress(tmp_path) -> None:
    airgap = stack_document("airgap")["config"]
    config = {
        "aws:region": "us-east-1",
        "airlock:platform": "aws",
        "airlock:profile": "airgapped",
        "airlock:images": airgap["airlock:images"],
        "airlock:gpuPools": airgap["airlock:gpuPools"],
        "airlock:models": airgap["airlock:models"],
    }
    loaded = _load(config, "test", tmp_path)
    assert loaded.config.network.nat_gateways == "none"
    assert loaded.config.network.public_subnet_cidrs == []
    assert loaded.config.egress_proxy.enabled is False
    assert {"ecr.api", "ecr.dkr", "sts", "secretsmanager", "kms", "logs", "ec2"} <= set(loaded.config.network.interface_endpoints)


def test_gpu_pool_filled_from_instance_catalog() -> None:
    loaded = _load(stack_document("prod")["config"], "prod")
    h100 = loaded.config.gpu_pools[0]
    assert (h100.gpu_model, h100.gpus_per_node, h100.gpu_memory_gib) == ("H100", 8, 79.6)
    assert h100.desired_size == h100.min_size


def test_model_architecture_and_cache_from_catalog() -> None:
    loaded = _load(stack_document("prod")["config"], "prod")
    llama = loaded.config.models[0]
    assert llama.architecture.layers == 80 and llama.architecture.kv_heads == 8
    assert llama.cache.size_gib >= 2 * 131  # twice the bf16 weights


def test_model_exactly_at_capacity_fits() -> None:
    # 8B on one L40S: 14.96 GiB weights + 16 GiB KV (8192 x 16 x 128 KiB) + 1 GiB < 40.5 GiB.
    config = stack_document("prod")["config"]
    config["airlock:models"][1]["maxNumSeqs"] = 24  # 24 GiB KV: 39.96 GiB, still fits
    _load(config, "prod")


def test_bare_ip_in_allowlist_is_a_host() -> None:
    config = stack_document("dev")["config"]
    config["airlock:sandboxes"][0]["egressAllowlist"] = ["10.99.5.5", "*.pythonhosted.org", "PyPI.org"]
    loaded = _load(config, "dev")
    assert loaded.config.sandboxes[0].egress_allowlist == ["10.99.5.5", "*.pythonhosted.org", "pypi.org"]
    assert ipaddress.ip_network("10.99.5.5").prefixlen == 32


def test_warnings_do_not_block() -> None:
    loaded = _load(stack_document("dev")["config"], "dev")
    paths = [w.path for w in loaded.warnings]
    assert "airlock:secrets[0].value" in paths
    # Values still to be filled in block only a deploy (for_deploy=True), not this load.
    assert "airlock:cluster.endpointPublicAccessCidrs" in paths
