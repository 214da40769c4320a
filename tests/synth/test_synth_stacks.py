"""airlock synth of the shipped stacks, through the real CLI and in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from support import STACKS, make_project, run_cli, shipped, stack_document


@pytest.mark.parametrize("stack", STACKS)
def test_every_shipped_stack_synthesizes(stack: str) -> None:
    bundle = shipped(stack)
    document = bundle.document
    config = stack_document(stack)["config"]
    assert document["project"] == "airlock"
    assert document["stack"] == stack
    assert document["platform"] == config["airlock:platform"]
    assert document["profile"] == config["airlock:profile"]
    assert {"airlock:platform:AgentPlatform", "pulumi:providers:kubernetes"} <= bundle.types()
    for resource in document["resources"]:
        assert set(resource) == {"type", "name", "parent", "inputs"}
    # Every Kubernetes resource in resources.json is also a manifest file.
    k8s = [r for r in bundle.resources if r["type"].startswith("kubernetes:")]
    assert len(bundle.manifests) == len(k8s) > 0


def test_resources_are_sorted_and_parents_resolve() -> None:
    bundle = shipped("prod")
    keys = [(r["type"], r["name"], r["parent"] or "") for r in bundle.resources]
    assert keys == sorted(keys)
    names = {r["name"] for r in bundle.resources}
    assert all(r["parent"] in names for r in bundle.resources if r["parent"] is not None)
    roots = [r for r in bundle.resources if r["parent"] is None]
    assert [r["type"] for r in roots] == ["airlock:platform:AgentPlatform"]


def test_cli_synth_twice_is_byte_identical(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for target in (first, second):
        result = run_cli("synth", "prod", "--out", str(target))
        assert result.returncode == 0, result.stderr
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert Path("resources.json") in files and any(p.parts[0] == "manifests" for p in files)
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for relative in files:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative


def test_cli_synth_prints_summary_and_defaults_to_out_stack(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"dev": stack_document("dev")})
    result = run_cli("synth", "dev", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "aws:eks/cluster:Cluster" in result.stdout
    assert "wrote out/dev" in result.stdout
    assert "no network may reach the cluster API" in result.stderr  # warnings reach the terminal
    assert (project / "out" / "dev" / "resources.json").is_file()


def test_secure_values_are_masked_and_never_need_decrypting(tmp_path: Path) -> None:
    document = stack_document("dev")
    document["config"]["airlock:secrets"][0]["value"] = {"secure": "v1:AAAAbm90LWRlY3J5cHRhYmxlLW9mZmxpbmU="}
    project = make_project(tmp_path, {"dev": document})
    result = run_cli("synth", "dev", "--out", str(tmp_path / "bundle"), cwd=project)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "bundle" / "resources.json").read_text()
    assert "v1:AAAA" not in text
    assert "secrets[0].value = null" not in result.stderr  # the value counts as set
    outputs = json.loads((tmp_path / "bundle" / "outputs.json").read_text())
    assert outputs["kubeconfig"] == "[secret]"


def test_manifests_are_plain_kubernetes_yaml() -> None:
    bundle = shipped("onprem")
    for path in (bundle.directory / "manifests").rglob("*.yaml"):
        obj = yaml.safe_load(path.read_text())
        assert obj["apiVersion"] and obj["kind"] and obj["metadata"]["name"]
        assert path.name == f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"
