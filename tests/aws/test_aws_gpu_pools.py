"""GPU node pools and the NVIDIA device plugin as synthesized."""

from __future__ import annotations

from pathlib import Path

import pytest

from aws_bundle import AWS_STACKS
from support import make_project, set_key, shipped, stack_document, synthesize

NVIDIA_AMIS = {"AL2023_x86_64_NVIDIA", "BOTTLEROCKET_x86_64_NVIDIA"}
GPU_STACKS = ("staging", "prod", "airgap")


def gpu_node_groups(bundle) -> dict[str, dict]:
    return {g["inputs"]["nodeGroupName"]: g for g in bundle.of_type("aws:eks/nodeGroup:NodeGroup") if g["name"].startswith("gpu-")}


@pytest.mark.parametrize("stack", GPU_STACKS)
def test_one_tainted_nvidia_node_group_per_pool(stack: str) -> None:
    bundle = shipped(stack)
    pools = stack_document(stack)["config"]["airlock:gpuPools"]
    groups = gpu_node_groups(bundle)
    assert sorted(groups) == sorted(p["name"] for p in pools)
    for pool in pools:
        inputs = groups[pool["name"]]["inputs"]
        assert inputs["amiType"] in NVIDIA_AMIS
        assert inputs["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
        assert inputs["labels"]["airlock.dev/gpu-pool"] == pool["name"]
        assert inputs["labels"]["nvidia.com/gpu.product"]
        assert inputs["instanceTypes"] == [pool["instanceType"]]
        assert inputs["scalingConfig"]["minSize"] == pool["minSize"]
        assert inputs["scalingConfig"]["maxSize"] == pool["maxSize"]


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_every_node_launch_template_requires_imdsv2_with_hop_limit_1(stack: str) -> None:
    bundle = shipped(stack)
    templates = bundle.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    groups = bundle.of_type("aws:eks/nodeGroup:NodeGroup")
    assert len(templates) == len(groups) > 0
    for template in templates:
        metadata = template["inputs"]["metadataOptions"]
        assert metadata["httpTokens"] == "required", template["name"]
        assert metadata["httpPutResponseHopLimit"] == 1, template["name"]
    for group in groups:
        assert group["inputs"]["launchTemplate"]["id"].startswith("lt-"), group["name"]


def test_gpu_root_volumes_are_encrypted_gp3_of_the_configured_size() -> None:
    bundle = shipped("prod")
    sizes = {p["name"]: p.get("diskSizeGiB", 500) for p in stack_document("prod")["config"]["airlock:gpuPools"]}
    for pool, size in sizes.items():
        template = bundle.one("aws:ec2/launchTemplate:LaunchTemplate", f"gpu-{pool}-nodes")
        (volume,) = template["inputs"]["blockDeviceMappings"]
        assert volume["ebs"] == {"deleteOnTermination": "true", "encrypted": "true", "volumeSize": size, "volumeType": "gp3"}


def test_pools_export_tolerations_and_node_selector() -> None:
    exported = shipped("prod").outputs["gpuPools"]
    assert exported["gpu-h100"] == {
        "nodeSelector": {"airlock.dev/gpu-pool": "gpu-h100"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    }


def device_plugin(bundle) -> dict:
    (daemon_set,) = [d for d in bundle.kinds("DaemonSet") if d["metadata"]["name"] == "nvidia-device-plugin"]
    return daemon_set


@pytest.mark.parametrize("stack", GPU_STACKS)
def test_device_plugin_runs_only_on_gpu_nodes_pinned_and_locked_down(stack: str) -> None:
    bundle = shipped(stack)
    daemon_set = device_plugin(bundle)
    assert daemon_set["metadata"]["namespace"] == "kube-system"
    assert daemon_set["metadata"]["labels"]["airlock.dev/role"] == "system"
    pod = daemon_set["spec"]["template"]["spec"]
    pools = sorted(p["name"] for p in stack_document(stack)["config"]["airlock:gpuPools"])
    (term,) = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term["matchExpressions"] == [{"key": "airlock.dev/gpu-pool", "operator": "In", "values": pools}]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    assert pod["automountServiceAccountToken"] is False
    assert not {"hostNetwork", "hostPID", "hostIPC"} & set(pod)
    assert "runtimeClassName" not in pod  # the NVIDIA runtime is containerd's default on these AMIs
    (container,) = pod["containers"]
    assert "@sha256:" in container["image"]
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False and security["privileged"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert set(container["resources"]["limits"]) == {"cpu", "memory", "ephemeral-storage"}
    # The one exception: the kubelet's device-plugin directory, and nothing else from the host.
    assert [v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v] == ["/var/lib/kubelet/device-plugins"]


def test_airgap_device_plugin_comes_from_this_stacks_ecr() -> None:
    bundle = shipped("airgap")
    image = device_plugin(bundle)["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.startswith(bundle.outputs["registryUrls"]["nvidia_device_plugin"] + ":")


def test_nvidia_runtime_class_exists_for_gpu_workloads() -> None:
    (runtime_class,) = [r for r in shipped("prod").kinds("RuntimeClass") if r["metadata"]["name"] == "nvidia"]
    assert runtime_class["handler"] == "nvidia"
    assert runtime_class["scheduling"]["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def test_no_gpu_pools_means_no_device_plugin() -> None:
    bundle = shipped("dev")
    assert gpu_node_groups(bundle) == {}
    assert [d for d in bundle.kinds("DaemonSet") if d["metadata"]["name"] == "nvidia-device-plugin"] == []
    assert [r for r in bundle.kinds("RuntimeClass") if r["metadata"]["name"] == "nvidia"] == []


def test_bottlerocket_pools_get_no_device_plugin_and_a_data_volume(tmp_path: Path) -> None:
    document = stack_document("prod")
    pools = document["config"]["airlock:gpuPools"]
    pools[0]["amiType"] = "BOTTLEROCKET_x86_64_NVIDIA"  # gpu-h100; gpu-l40s stays on AL2023
    pools[0]["nodeStorage"] = "ebs"  # instance-store RAID0 is AL2023's (nodeadm)
    set_key(document, "gpuPools", pools)
    bundle = synthesize(make_project(tmp_path, {"rocket": document}), "rocket", tmp_path / "out")
    pod = device_plugin(bundle)["spec"]["template"]["spec"]
    (term,) = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term["matchExpressions"][0]["values"] == ["gpu-l40s"]
    volumes = bundle.one("aws:ec2/launchTemplate:LaunchTemplate", "gpu-gpu-h100-nodes")["inputs"]["blockDeviceMappings"]
    assert [(v["deviceName"], v["ebs"]["volumeSize"], v["ebs"]["encrypted"]) for v in volumes] == [
        ("/dev/xvda", 4, "true"),
        ("/dev/xvdb", 1000, "true"),
    ]
