"""What a first `pulumi up` on real AWS needs, checked on the synthesized bundles and by
validation (issue 12): each test here failed on the bundles that passed every property
test but would not have come up."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.config.errors import ConfigError
from components.config.loader import LoadedConfig, load, read_stack_file
from support import make_project, run_cli, shipped, stack_document, synthesize

PROD_DEVICE_PLUGIN = "nvcr.io/nvidia/k8s-device-plugin:"


def validate(tmp_path: Path, document: dict) -> LoadedConfig:
    project = make_project(tmp_path, {"candidate": document})
    return load(read_stack_file(project, "candidate"), "candidate", project)


def issues(tmp_path: Path, document: dict) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        validate(tmp_path, document)
    return {issue.path: issue.message for issue in caught.value.issues}


def device_plugin_image(stack: str) -> str:
    (daemon_set,) = [d for d in shipped(stack).kinds("DaemonSet") if d["metadata"]["name"] == "nvidia-device-plugin"]
    return daemon_set["spec"]["template"]["spec"]["containers"][0]["image"]


# ---------------------------------------------------------------- finding 2: device plugin


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_device_plugin_is_pulled_from_nvcr(stack: str) -> None:
    # Docker Hub's nvidia/k8s-device-plugin stopped at v0.12: no node would advertise GPUs.
    assert device_plugin_image(stack).startswith(PROD_DEVICE_PLUGIN)


def test_device_plugin_on_docker_hub_is_refused(tmp_path: Path) -> None:
    document = stack_document("prod")
    document["config"]["airlock:images"] = {
        "nvidiaDevicePlugin": "nvidia/k8s-device-plugin:v0.17.0@sha256:7089559ce6153018806857f5049085bae15b3bf6f1c8bd19d8b12f707d087dea"
    }
    found = issues(tmp_path, document)
    assert "nvcr.io/nvidia/k8s-device-plugin:v0.17.0@sha256:7089" in found["airlock:images.nvidiaDevicePlugin"]


# ---------------------------------------------------------------- finding 3: API access path


def test_a_stack_without_an_api_access_path_cannot_be_deployed(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"dev": stack_document("dev")})
    result = run_cli("validate", "dev", cwd=project)
    assert result.returncode == 2, result.stdout
    assert "airlock:cluster.endpointPublicAccessCidrs = []: no network may reach the cluster API" in result.stderr
    assert "checkip.amazonaws.com" in result.stderr and "Traceback" not in result.stderr
    # Synthesis still shows the desired state, with the same message as a warning.
    synth = run_cli("synth", "dev", "--out", str(tmp_path / "out"), cwd=project)
    assert synth.returncode == 0, synth.stderr
    assert "no network may reach the cluster API" in synth.stderr


@pytest.mark.parametrize("stack, key", [("prod", "endpointPrivateAccessCidrs"), ("airgap", "endpointPrivateAccessCidrs"), ("staging", "endpointPublicAccessCidrs")])
def test_every_shipped_aws_stack_asks_for_its_access_path(tmp_path: Path, stack: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        project = make_project(tmp_path, {stack: stack_document(stack)})
        load(read_stack_file(project, stack), stack, project, for_deploy=True)
    assert {i.path for i in caught.value.issues} >= {f"airlock:cluster.{key}"}


def test_an_access_path_opens_the_endpoint_to_the_deployer(tmp_path: Path) -> None:
    document = stack_document("dev")
    document["config"]["airlock:cluster"]["endpointPublicAccessCidrs"] = ["198.18.7.0/28"]
    project = make_project(tmp_path, {"dev": document})
    assert run_cli("validate", "dev", cwd=project).returncode == 0
    vpc = synthesize(project, "dev", tmp_path / "out").one("aws:eks/cluster:Cluster")["inputs"]["vpcConfig"]
    assert vpc["endpointPublicAccess"] is True and vpc["publicAccessCidrs"] == ["198.18.7.0/28"]


def test_documentation_ranges_are_nobodys_network(tmp_path: Path) -> None:
    document = stack_document("prod")
    document["config"]["airlock:cluster"]["endpointPublicAccessCidrs"] = ["203.0.113.0/24"]
    found = issues(tmp_path, document)
    assert "documentation range" in found["airlock:cluster.endpointPublicAccessCidrs[0]"]


def test_access_entries_give_further_principals_the_cluster(tmp_path: Path) -> None:
    document = stack_document("prod")
    document["config"]["airlock:cluster"]["accessEntries"] = [
        {"principalArn": "arn:aws:iam::123456789012:role/ci-deployer", "access": "cluster-admin"},
        {"principalArn": "arn:aws:iam::123456789012:user/alice", "access": "view", "namespaces": ["airlock-models"]},
    ]
    bundle = synthesize(make_project(tmp_path, {"prod": document}), "prod", tmp_path / "out")
    entries = {e["inputs"]["principalArn"]: e["inputs"] for e in bundle.of_type("aws:eks/accessEntry:AccessEntry")}
    assert set(entries) == {"arn:aws:iam::123456789012:role/ci-deployer", "arn:aws:iam::123456789012:user/alice"}
    policies = {p["inputs"]["principalArn"]: p["inputs"] for p in bundle.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")}
    admin = policies["arn:aws:iam::123456789012:role/ci-deployer"]
    assert admin["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert admin["accessScope"] == {"type": "cluster"}
    viewer = policies["arn:aws:iam::123456789012:user/alice"]
    assert viewer["policyArn"].endswith("/AmazonEKSViewPolicy")
    assert viewer["accessScope"] == {"type": "namespace", "namespaces": ["airlock-models"]}


def test_cluster_admin_cannot_be_namespaced(tmp_path: Path) -> None:
    document = stack_document("prod")
    document["config"]["airlock:cluster"]["accessEntries"] = [
        {"principalArn": "arn:aws:iam::123456789012:role/ci", "access": "cluster-admin", "namespaces": ["airlock-models"]}
    ]
    assert "cluster-wide" in issues(tmp_path, document)["airlock:cluster.accessEntries[0].namespaces"]


# ---------------------------------------------------------------- finding 4: two zones


def test_eks_needs_two_availability_zones(tmp_path: Path) -> None:
    document = stack_document("dev")
    document["config"]["airlock:network"]["availabilityZones"] = ["us-east-1a"]
    assert "at least two availability zones" in issues(tmp_path, document)["airlock:network.availabilityZones"]


def test_dev_cluster_subnets_span_two_zones() -> None:
    bundle = shipped("dev")
    subnets = bundle.one("aws:eks/cluster:Cluster")["inputs"]["vpcConfig"]["subnetIds"]
    zones = {s["inputs"]["availabilityZone"] for s in bundle.of_type("aws:ec2/subnet:Subnet") if s["inputs"].get("mapPublicIpOnLaunch") is not True}
    assert len(subnets) >= 2 and len(zones) >= 2
