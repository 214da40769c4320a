"""Config validation the workloads rely on: bad stacks are refused with the key path (exit 2).

The acceptance cases (a model that cannot fit its pool, a sandbox allowlist with 0.0.0.0/0
or IMDS) go through the installed CLI like a user's; the other rules are checked in
process, on the same loader, to keep the suite fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from components.config.errors import ConfigError, ConfigIssue
from components.config.loader import load, read_stack_file
from support import make_project, run_cli, stack_document


def issues_for(tmp_path: Path, stack: str, edit: Callable[[dict[str, Any]], None]) -> list[ConfigIssue]:
    """Every issue (errors, or else warnings) of ``stack`` after ``edit``."""
    document = stack_document(stack)
    edit(document["config"])
    project = make_project(tmp_path, {stack: document})
    try:
        loaded = load(read_stack_file(project, stack), stack, project)
    except ConfigError as error:
        return error.issues
    return list(loaded.warnings)


def paths(issues: list[ConfigIssue], severity: str = "error") -> set[str]:
    return {i.path for i in issues if i.severity == severity}


# --------------------------------------------------------------------------- acceptance, via the CLI


def cli_validate(tmp_path: Path, stack: str, edit: Callable[[dict[str, Any]], None]):
    document = stack_document(stack)
    edit(document["config"])
    project = make_project(tmp_path, {stack: document})
    return run_cli("validate", stack, cwd=project)


def test_model_that_cannot_fit_its_pool_is_rejected(tmp_path: Path) -> None:
    def edit(config: dict) -> None:
        config["airlock:models"][0]["maxModelLen"] = 131072  # llama-70b: KV cache no longer fits 4 x H100
        config["airlock:models"][0]["maxNumSeqs"] = 64

    result = cli_validate(tmp_path, "prod", edit)
    assert result.returncode == 2, result.stdout
    assert "airlock:models[0] = \"llama-70b\": does not fit pool 'gpu-h100'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("entry", ["0.0.0.0/0", "169.254.169.254", "169.254.169.254/32"])
def test_sandbox_allowlist_with_the_internet_or_imds_is_rejected(tmp_path: Path, entry: str) -> None:
    def edit(config: dict) -> None:
        config["airlock:sandboxes"][0]["egressAllowlist"] = ["pypi.org", entry]

    result = cli_validate(tmp_path, "prod", edit)
    assert result.returncode == 2
    assert f'airlock:sandboxes[0].egressAllowlist[1] = "{entry}"' in result.stderr
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- rules added for the workloads


def test_pre_staged_weights_must_live_under_the_cache_mount(tmp_path: Path) -> None:
    def edit(config: dict) -> None:
        config["airlock:models"][0]["weightsUri"] = "/weights/llama"
        config["airlock:models"][1]["weightsUri"] = "/models/../etc"

    found = paths(issues_for(tmp_path, "onprem", edit))
    assert found == {"airlock:models[0].weightsUri", "airlock:models[1].weightsUri"}


def test_requests_may_not_exceed_limits(tmp_path: Path) -> None:
    def edit(config: dict) -> None:
        config["airlock:orchestrator"] = {"resources": {"cpuRequest": "2", "cpuLimit": "1"}}
        config["airlock:models"][1]["resources"] = {"memoryRequest": "64Gi", "memoryLimit": "32Gi"}

    found = paths(issues_for(tmp_path, "onprem", edit))
    assert found == {"airlock:orchestrator.resources.cpuRequest", "airlock:models[1].resources.memoryRequest"}


def test_autoscaling_max_below_min_is_rejected_and_counts_against_the_pool(tmp_path: Path) -> None:
    def below(config: dict) -> None:
        config["airlock:models"][1]["autoscaling"] = {"enabled": True, "maxReplicas": 1}

    assert paths(issues_for(tmp_path / "a", "prod", below)) == {"airlock:models[1].autoscaling.maxReplicas"}

    def beyond(config: dict) -> None:
        config["airlock:models"][1]["autoscaling"] = {"enabled": True, "maxReplicas": 5}  # gpu-l40s: 4 running nodes x 1 GPU

    assert paths(issues_for(tmp_path / "b", "prod", beyond)) == {"airlock:gpuPools[1].desiredSize"}


def test_internet_routes_need_the_egress_proxy(tmp_path: Path) -> None:
    def edit(config: dict) -> None:
        config["airlock:egressProxy"] = {"enabled": False}
        config["airlock:sandboxes"] = [{"name": "default"}]

    found = paths(issues_for(tmp_path, "prod", edit))
    assert found == {
        "airlock:cloudModels[0].baseUrl",
        "airlock:models[0].weightsSource",
        "airlock:models[1].weightsSource",
        "airlock:observability.endpoint",
    }


def test_plain_http_telemetry_cannot_leave_through_the_proxy(tmp_path: Path) -> None:
    def external(config: dict) -> None:
        config["airlock:observability"]["endpoint"] = "http://otlp.example.com:4318"

    assert paths(issues_for(tmp_path / "a", "prod", external)) == {"airlock:observability.endpoint"}

    def in_cluster(config: dict) -> None:
        config["airlock:observability"]["endpoint"] = "http://tempo.tracing.svc:4318"

    assert paths(issues_for(tmp_path / "b", "prod", in_cluster)) == set()


def test_aws_sandbox_cidrs_may_not_reach_the_cluster_subnets(tmp_path: Path) -> None:
    def edit(config: dict) -> None:
        config["airlock:sandboxes"][1]["egressAllowlist"] = ["10.30.64.0/24"]  # inside private subnet 2

    issues = issues_for(tmp_path, "prod", edit)
    assert paths(issues) == {"airlock:sandboxes[1].egressAllowlist[0]"}
    assert "airlock:network.privateSubnetCidrs[1]" in str(issues[0])


def test_shared_cache_pvc_without_rwx_class_warns(tmp_path: Path) -> None:
    def edit(config: dict) -> None:
        config["airlock:models"][0]["cache"] = {"type": "pvc"}
        config["airlock:models"][1]["cache"] = {"storageClass": "efs-sc"}

    issues = issues_for(tmp_path, "prod", edit)
    assert paths(issues, "warning") >= {"airlock:models[0].cache.storageClass"}
    assert "airlock:models[1].cache.storageClass" not in paths(issues, "warning")


def test_autoscaling_with_prometheus_outside_the_cluster_warns(tmp_path: Path) -> None:
    def edit(config: dict) -> None:
        config["airlock:models"][1]["autoscaling"]["prometheusUrl"] = "https://prometheus.example.com"

    assert "airlock:models[1].autoscaling.prometheusUrl" in paths(issues_for(tmp_path, "prod", edit), "warning")


def test_model_resources_default_from_the_gpu_count(tmp_path: Path) -> None:
    document = stack_document("prod")
    project = make_project(tmp_path, {"prod": document})
    models = load(read_stack_file(project, "prod"), "prod", project).config.models
    big, small = models[0].resources, models[1].resources  # tensorParallelSize 4 and 1
    assert (big.cpu_request, big.cpu_limit, big.memory_request, big.memory_limit) == ("8", "16", "34Gi", "51Gi")
    assert (small.cpu_request, small.cpu_limit, small.memory_request, small.memory_limit) == ("2", "4", "16Gi", "24Gi")


@pytest.mark.parametrize(
    "key,value",
    [
        ("observability.endpoint", "https://otlp.example.com:99999"),
        ("cloudModels[0].baseUrl", "https://api.example.com:70000"),
    ],
)
def test_endpoints_with_impossible_ports_are_keyed_errors_not_tracebacks(tmp_path: Path, key: str, value: str) -> None:
    def edit(config: dict) -> None:
        if key.startswith("observability"):
            config["airlock:observability"]["endpoint"] = value
        else:
            config["airlock:cloudModels"][0]["baseUrl"] = value

    assert paths(issues_for(tmp_path, "prod", edit)) == {f"airlock:{key}"}


def test_prometheus_url_must_be_a_url(tmp_path: Path) -> None:
    def edit(config: dict) -> None:
        config["airlock:models"][1]["autoscaling"]["prometheusUrl"] = "prometheus:9090"

    issues = issues_for(tmp_path, "prod", edit)
    assert paths(issues) == {"airlock:models[1].autoscaling.prometheusUrl"}
    assert "http:// or https:// URL" in str(issues[0])
