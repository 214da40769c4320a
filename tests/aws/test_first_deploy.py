"""What a first `pulumi up` on real AWS needs, checked on the synthesized bundles and by
validation (issue 12): each test here failed on the bundles that passed every property
test but would not have come up."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.config.errors import ConfigError
from components.config.loader import LoadedConfig, load, read_stack_file
from support import PROJECT_DIR, Synthesized, make_project, read_bundle, run_cli, shipped, stack_document, synthesize

PROD_DEVICE_PLUGIN = "nvcr.io/nvidia/k8s-device-plugin:"


def validate(tmp_path: Path, document: dict) -> LoadedConfig:
    project = make_project(tmp_path, {"candidate": document})
    return load(read_stack_file(project, "candidate"), "candidate", project)


def issues(tmp_path: Path, document: dict) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        validate(tmp_path, document)
    return {issue.path: issue.message for issue in caught.value.issues}


def pod_images(bundle: Synthesized) -> list[str]:
    images = []
    for manifest in bundle.manifests:
        template = (manifest.get("spec") or {}).get("template")
        if manifest["kind"] in ("Deployment", "DaemonSet", "StatefulSet") and template:
            images += [c["image"] for c in template["spec"].get("initContainers", []) + template["spec"]["containers"]]
    return images


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


# ---------------------------------------------------------------- finding 7: no made-up digests

# Digests that were shipped in stacks/ without any image behind them.
FABRICATED = ("5b0f4c6a8e3d2f1b", "0a1b2c3d4e5f6071")


@pytest.mark.parametrize("stack", ["airgap", "onprem"])
def test_images_built_here_ship_an_explicit_unset_digest_that_blocks_deploy(tmp_path: Path, stack: str) -> None:
    text = (PROJECT_DIR / "stacks" / f"Pulumi.{stack}.yaml").read_text()
    assert not any(digest in text for digest in FABRICATED)
    project = make_project(tmp_path, {stack: stack_document(stack)})
    result = run_cli("validate", stack, cwd=project)
    assert result.returncode == 2
    for key, repository in (("runtime", "airlock/runtime"), ("sandboxExecutor", "airlock/sandbox-executor")):
        line = next(line for line in result.stderr.splitlines() if f"airlock:images.{key} =" in line)
        assert "digest not filled in yet" in line and f"airlock images STACK" in line
        assert f"pulumi config set --path airlock:images.{key} {repository}:0.1.0@sha256:<digest>" in line
    # Synthesis runs and the pods carry the tag only, never a digest nobody built.
    synth = run_cli("synth", stack, "--out", str(tmp_path / "out"), cwd=project)
    assert synth.returncode == 0, synth.stderr
    assert "digest not filled in yet" in synth.stderr
    images = pod_images(read_bundle(tmp_path / "out"))
    assert any("runtime:0.1.0" in i for i in images)
    assert not any("unset" in i or any(d in i for d in FABRICATED) for i in images)


def test_a_filled_in_digest_deploys(tmp_path: Path) -> None:
    document = stack_document("airgap")
    document["config"]["airlock:images"]["runtime"] = "airlock/runtime:0.1.0@sha256:" + "ab" * 32
    document["config"]["airlock:images"]["sandboxExecutor"] = "airlock/sandbox-executor:0.1.0@sha256:" + "cd" * 32
    document["config"]["airlock:cluster"] = {"endpointPrivateAccessCidrs": ["10.8.0.0/16"]}
    project = make_project(tmp_path, {"airgap": document})
    loaded = load(read_stack_file(project, "airgap"), "airgap", project, for_deploy=True)
    assert not [w for w in loaded.warnings if w.path.startswith("airlock:images")]


# ---------------------------------------------------------------- finding 6: images before workloads


def test_bootstrap_phase_builds_network_cluster_registry_and_secret_store_only(tmp_path: Path) -> None:
    document = stack_document("prod")
    document["config"]["airlock:deployPhase"] = "bootstrap"
    bundle = synthesize(make_project(tmp_path, {"prod": document}), "prod", tmp_path / "out")
    types = bundle.types()
    for needed in ("aws:ec2/vpc:Vpc", "aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup", "aws:ecr/repository:Repository", "aws:secretsmanager/secret:Secret"):
        assert needed in types, needed
    # Nothing that pulls an image from the registry: no workloads, no GPU nodes waiting on them.
    assert bundle.manifests == []
    assert [g["inputs"]["nodeGroupName"] for g in bundle.of_type("aws:eks/nodeGroup:NodeGroup")] == ["system"]
    assert "aws:sqs/queue:Queue" not in types
    assert set(bundle.outputs["registryUrls"]) == {"runtime", "sandbox_executor", "vllm"}
    assert bundle.outputs["deployPhase"] == "bootstrap"
    # The full phase keeps every bootstrap resource as it was (same names: no replacement).
    full = shipped("prod")
    names = {(r["type"], r["name"]) for r in full.resources}
    assert {(r["type"], r["name"]) for r in bundle.resources} <= names


def test_bootstrap_is_aws_only(tmp_path: Path) -> None:
    document = stack_document("onprem")
    document["config"]["airlock:deployPhase"] = "bootstrap"
    assert "platform 'aws' only" in issues(tmp_path, document)["airlock:deployPhase"]


def test_images_lists_every_image_with_its_digest_and_the_copy_commands(tmp_path: Path) -> None:
    result = run_cli("images", "prod", "--account-id", "111122223333")
    assert result.returncode == 0, result.stderr
    config = stack_document("prod")["config"]
    from components.config.schema import ImagesConfig

    defaults = ImagesConfig.model_validate(config.get("airlock:images", {}))
    registry = "111122223333.dkr.ecr.us-east-1.amazonaws.com"
    for key in ("vllm", "egressProxy", "otelCollector", "nvidiaDevicePlugin"):
        reference = getattr(defaults, {"egressProxy": "egress_proxy", "otelCollector": "otel_collector", "nvidiaDevicePlugin": "nvidia_device_plugin"}.get(key, key))
        assert f"airlock:images.{key}" in result.stdout
        assert reference.split("@")[1] in result.stdout  # the digest is listed
    # vLLM is mirrored into the stack's ECR keeping its manifest-list digest; the runtime is built and pushed.
    vllm_source = defaults.vllm if "/" in defaults.vllm.split("/")[0] and "." in defaults.vllm.split("/")[0] else f"docker.io/{defaults.vllm}"
    assert f"skopeo copy --all --preserve-digests docker://{vllm_source} docker://{registry}/airlock-prod/vllm:" in result.stdout
    assert f"aws ecr get-login-password --region us-east-1 | skopeo login --username AWS --password-stdin {registry}" in result.stdout
    assert f"podman build -f images/runtime.Dockerfile -t localhost/airlock/runtime:0.1.0 ." in result.stdout


def fake_tools(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """skopeo, aws and podman stand-ins that record their arguments (no registry here)."""
    import os

    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    for tool in ("skopeo", "aws", "podman"):
        script = bin_dir / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> {log}\n[ "$1" = inspect ] && echo sha256:{"ab" * 32}\nexit 0\n')
        script.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}, log


def test_images_run_copies_in_order_and_prints_the_digest_to_set(tmp_path: Path) -> None:
    env, log = fake_tools(tmp_path)
    result = run_cli("images", "airgap", "--account-id", "111122223333", "--run", env=env)
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    # `aws ecr get-login-password | skopeo login ...` is one pipeline: its two sides log in either order.
    login = calls[:2]
    assert any(c.startswith("aws ecr get-login-password") for c in login), calls
    assert any(c.startswith("skopeo login --username AWS") for c in login), calls
    copies = [c for c in calls if c.startswith("skopeo copy")]
    assert any("docker://nvcr.io/nvidia/k8s-device-plugin:v0.17.0@sha256:" in c and "/airlock-airgap/nvidia-device-plugin:v0.17.0" in c for c in copies)
    assert f"pulumi config set --path airlock:images.runtime airlock/runtime:0.1.0@sha256:{'ab' * 32}" in result.stdout


def test_images_export_and_import_an_oci_archive_for_airgapped_stacks(tmp_path: Path) -> None:
    env, log = fake_tools(tmp_path)
    archive = tmp_path / "airlock-images.tar"
    exported = run_cli("images", "airgap", "--export", str(archive), env=env)
    assert exported.returncode == 0, exported.stderr
    assert "docker://docker.io/vllm/vllm-openai:" in exported.stdout and "oci:airlock-images:vllm" in exported.stdout
    assert f"tar -cf {archive} airlock-images" in exported.stdout
    imported = run_cli("images", "airgap", "--import", str(archive), "--account-id", "111122223333", env=env)
    assert imported.returncode == 0, imported.stderr
    assert "skopeo copy --all --preserve-digests oci:airlock-images:vllm docker://111122223333.dkr.ecr.us-east-1.amazonaws.com/airlock-airgap/vllm:" in imported.stdout
    both = run_cli("images", "airgap", "--import", str(archive), "--export", str(archive))
    assert both.returncode == 2 and "pick one" in both.stderr


def test_images_refuses_a_broken_stack(tmp_path: Path) -> None:
    document = stack_document("prod")
    document["config"]["airlock:network"]["availabilityZones"] = ["us-east-1a"]
    result = run_cli("images", "prod", cwd=make_project(tmp_path, {"prod": document}))
    assert result.returncode == 2 and "airlock:network.availabilityZones" in result.stderr


# ---------------------------------------------------------------- finding 5: CRDs before custom resources

BUILT_IN_GROUPS = {"", "apps", "batch", "policy", "networking.k8s.io", "node.k8s.io", "storage.k8s.io", "rbac.authorization.k8s.io", "autoscaling"}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "airgap", "onprem"])
def test_every_custom_resource_comes_from_an_installed_addon(stack: str) -> None:
    from components.config.rules.addons import CRD_ADDONS

    installed = set(stack_document(stack)["config"].get("airlock:cluster", {}).get("installedAddons", []))
    for manifest in shipped(stack).manifests:
        group = manifest["apiVersion"].rpartition("/")[0]
        if group not in BUILT_IN_GROUPS:
            assert CRD_ADDONS.get(group) in installed, f"{manifest['kind']} {manifest['metadata']['name']}: {group} CRDs not installed"


def test_autoscaling_without_keda_is_refused(tmp_path: Path) -> None:
    document = stack_document("prod")
    del document["config"]["airlock:cluster"]["installedAddons"]
    found = issues(tmp_path, document)
    assert "no matches for kind" in found["airlock:models[1].autoscaling.enabled"]
    assert "Prometheus" in found["airlock:models[1].autoscaling.prometheusUrl"]


# ---------------------------------------------------------------- finding 9: replicas fit running nodes


def test_keda_cannot_scale_past_the_nodes_that_run(tmp_path: Path) -> None:
    document = stack_document("prod")
    pools = document["config"]["airlock:gpuPools"]
    pools[1]["desiredSize"] = 2  # maxSize stays 4, but nothing would add the other two nodes
    found = issues(tmp_path, document)
    assert "no node autoscaler" in found["airlock:gpuPools[1].desiredSize"]
    assert "need 4 GPUs" in found["airlock:gpuPools[1].desiredSize"]


# ---------------------------------------------------------------- finding 8: weights on fast disks

def launch_template_of(bundle: Synthesized, pool: str) -> dict:
    (template,) = [t["inputs"] for t in bundle.of_type("aws:ec2/launchTemplate:LaunchTemplate") if f"-{pool}:" in t["inputs"]["description"]]
    return template


def test_prod_h100_nodes_keep_weights_on_instance_store_raid0_and_the_probe_covers_the_load() -> None:
    import base64

    bundle = shipped("prod")
    user_data = base64.b64decode(launch_template_of(bundle, "gpu-h100")["userData"]).decode()
    assert "kind: NodeConfig" in user_data and "strategy: RAID0" in user_data
    (deployment,) = [d for d in bundle.kinds("Deployment") if d["metadata"]["name"] == "llama-70b"]
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["startupProbe"]
    budget = probe["failureThreshold"] * probe["periodSeconds"]
    weights_gib = 70.6e9 * 2 / 1024**3  # bf16 Llama-3.3-70B
    # Hugging Face delivers ~128 MiB/s (8 s/GiB) per replica; RAID0 NVMe does not slow it.
    assert budget >= weights_gib * 8
    assert int(deployment["metadata"]["annotations"]["pulumi.com/timeoutSeconds"]) > budget


def test_on_gp3_the_probe_is_sized_from_the_shared_disk_throughput(tmp_path: Path) -> None:
    document = stack_document("prod")
    del document["config"]["airlock:gpuPools"][0]["nodeStorage"]
    loaded = validate(tmp_path / "v", document)
    assert any(w.path == "airlock:gpuPools[0].nodeStorage" and "minutes per start" in w.message for w in loaded.warnings)
    bundle = synthesize(make_project(tmp_path, {"prod": document}), "prod", tmp_path / "out")
    assert "userData" not in launch_template_of(bundle, "gpu-h100")
    (deployment,) = [d for d in bundle.kinds("Deployment") if d["metadata"]["name"] == "llama-70b"]
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["startupProbe"]
    weights_mib = 70.6e9 * 2 / 1024**2
    # Two replicas on one p5 share the volume's 125 MiB/s: about 36 minutes of writing.
    assert probe["failureThreshold"] * probe["periodSeconds"] >= 2 * weights_mib / 125


def test_gp3_throughput_is_provisioned_when_asked(tmp_path: Path) -> None:
    document = stack_document("staging")
    document["config"]["airlock:gpuPools"][0]["diskThroughputMibps"] = 1000
    bundle = synthesize(make_project(tmp_path, {"staging": document}), "staging", tmp_path / "out")
    (volume,) = launch_template_of(bundle, "gpu-l40s")["blockDeviceMappings"]
    assert volume["ebs"]["throughput"] == 1000


# ---------------------------------------------------------------- finding 11: capacity reservations


def test_p5_on_demand_without_a_reservation_warns_with_what_to_do(tmp_path: Path) -> None:
    loaded = validate(tmp_path, stack_document("prod"))
    (warning,) = [w for w in loaded.warnings if w.path == "airlock:gpuPools[0].capacityReservation"]
    assert "Capacity Block" in warning.message and "capacityReservation {id, type, availabilityZone}" in warning.message


def test_a_capacity_block_pins_the_pool_to_its_zone_and_market(tmp_path: Path) -> None:
    document = stack_document("prod")
    document["config"]["airlock:gpuPools"][0]["capacityReservation"] = {
        "id": "cr-0123456789abcdef0", "type": "capacityBlock", "availabilityZone": "us-east-1b"
    }
    bundle = synthesize(make_project(tmp_path, {"prod": document}), "prod", tmp_path / "out")
    template = launch_template_of(bundle, "gpu-h100")
    assert template["capacityReservationSpecification"]["capacityReservationTarget"]["capacityReservationId"] == "cr-0123456789abcdef0"
    assert template["instanceMarketOptions"] == {"marketType": "capacity-block"}
    (group,) = [g["inputs"] for g in bundle.of_type("aws:eks/nodeGroup:NodeGroup") if g["inputs"]["nodeGroupName"] == "gpu-h100"]
    assert group["capacityType"] == "CAPACITY_BLOCK"
    subnets = {s["name"]: s["inputs"] for s in bundle.of_type("aws:ec2/subnet:Subnet")}
    assert len(group["subnetIds"]) == 1
    (zone,) = [s["availabilityZone"] for s in subnets.values() if s.get("availabilityZone") == "us-east-1b" and "private" in str(s.get("tags"))]
    assert zone == "us-east-1b"


def test_a_reservation_outside_the_stacks_zones_is_refused(tmp_path: Path) -> None:
    document = stack_document("prod")
    document["config"]["airlock:gpuPools"][0]["capacityReservation"] = {"id": "cr-0123456789abcdef0", "availabilityZone": "us-east-1f"}
    assert "not one of the stack's zones" in issues(tmp_path, document)["airlock:gpuPools[0].capacityReservation.availabilityZone"]


# ---------------------------------------------------------------- finding 10: vLLM is the upstream image, mirrored


def test_no_dockerfile_claims_to_build_the_vllm_image_the_stacks_pin() -> None:
    # A rebuilt image cannot carry the upstream digest the stacks pin, and its user and
    # HF_HOME disagreed with the Deployment: vLLM is mirrored as published instead.
    for dockerfile in (PROJECT_DIR / "images").glob("*.Dockerfile"):
        assert "vllm/vllm-openai" not in dockerfile.read_text(), dockerfile.name
    result = run_cli("images", "prod", "--account-id", "111122223333")
    from components.config.schema import ImagesConfig

    pinned = ImagesConfig.model_validate({}).vllm  # prod runs the default pin
    assert f"docker://docker.io/{pinned} docker://111122223333.dkr.ecr.us-east-1.amazonaws.com/airlock-prod/vllm:" in result.stdout
    assert "mirrored upstream" in (PROJECT_DIR / "README.md").read_text()


# ---------------------------------------------------------------- finding 13: no budgets that protect nothing


@pytest.mark.parametrize("stack, single, kept", [
    ("staging", {("airlock-models", "qwen3-8b")}, set()),
    ("dev", {("airlock-orchestrator", "orchestrator"), ("airlock-egress", "egress-proxy")}, set()),
    ("prod", set(), {("airlock-models", "llama-70b"), ("airlock-models", "llama-8b"), ("airlock-orchestrator", "orchestrator")}),
])
def test_only_workloads_with_more_than_one_replica_get_a_disruption_budget(stack: str, single: set, kept: set) -> None:
    budgets = {(b["metadata"]["namespace"], b["metadata"]["name"]) for b in shipped(stack).kinds("PodDisruptionBudget")}
    assert not budgets & single
    assert kept <= budgets
    deployments = {(d["metadata"]["namespace"], d["metadata"]["name"]): d["spec"].get("replicas", 2) for d in shipped(stack).kinds("Deployment")}
    for key in budgets:
        assert deployments[key] > 1, key


# ---------------------------------------------------------------- finding 15: RunAI streamer memory


def test_streamed_weights_have_a_streamer_memory_limit_inside_the_pod_limit() -> None:
    import json

    from components.config.quantities import parse_quantity

    streamed = 0
    for deployment in shipped("airgap").kinds("Deployment"):
        (container, *_) = deployment["spec"]["template"]["spec"]["containers"]
        args = container.get("args", [])
        if "runai_streamer" not in args:
            continue
        streamed += 1
        config = json.loads(args[args.index("--model-loader-extra-config") + 1])
        limit = parse_quantity(container["resources"]["limits"]["memory"])
        assert 0 < config["memory_limit"] <= limit / 4, (deployment["metadata"]["name"], config)
    assert streamed == 2  # qwen3-32b (65 GB under a 33Gi limit) and llama-8b


# ---------------------------------------------------------------- acceptance: the walkthrough


def test_aws_docs_open_with_the_first_deploy_walkthrough_in_order() -> None:
    text = (PROJECT_DIR / "docs" / "aws.md").read_text()
    first_section = text.split("\n## ")[1]
    assert first_section.startswith("First deploy, step by step")
    steps = [
        "endpointPublicAccessCidrs[0]",
        "endpointPrivateAccessCidrs[0]",
        "accessEntries[0].principalArn",
        "pulumi config set airlock:deployPhase bootstrap",
        "aws secretsmanager put-secret-value",
        "airlock images dev --run",
        "pulumi config set --path airlock:images.runtime",
        "--export airlock-images.tar",
        "--import airlock-images.tar",
        "helm install keda",
        "airlock validate dev",
        "pulumi config set airlock:deployPhase full",
    ]
    positions = [first_section.index(step) for step in steps]
    assert positions == sorted(positions)


# ---------------------------------------------------------------- finding 14: hf-token from the secret store


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_hf_token_is_synced_from_secrets_manager(stack: str) -> None:
    bundle = shipped(stack)
    # prod and staging leave the value unset in the stack: it is filled in Secrets Manager.
    assert all("value" not in s for s in stack_document(stack)["config"]["airlock:secrets"])
    (secret,) = [s for s in bundle.kinds("Secret") if s["metadata"]["name"] == "hf-token"]
    assert secret["metadata"]["namespace"] == "airlock-models"
    assert secret["stringData"] == {"token": "[secret]"}  # a Pulumi secret, masked in the bundle


def test_a_token_set_in_the_stack_is_read_back_after_its_version_is_written(tmp_path: Path) -> None:
    from support import synthesize_decrypted

    document = stack_document("staging")
    document["config"]["airlock:secrets"][1]["value"] = "hf_real_token_value"
    project = make_project(tmp_path, {"staging": document})
    bundle, _ = synthesize_decrypted(project, "staging", document, {"airlock:secrets"}, tmp_path / "out")
    (secret,) = [s for s in bundle.kinds("Secret") if s["metadata"]["name"] == "hf-token"]
    assert secret["stringData"] == {"token": "[secret]"}
    assert "hf_real_token_value" not in (tmp_path / "out" / "resources.json").read_text()


# ---------------------------------------------------------------- finding 12: no DNS for proxy-only sandboxes


def test_proxy_only_sandboxes_reach_the_proxy_by_address_and_have_no_dns() -> None:
    import ipaddress

    bundle = shipped("prod")
    policies = [p for p in bundle.kinds("NetworkPolicy") if p["metadata"]["namespace"] == "airlock-sbx-default"]
    rules = [r for p in policies for r in p["spec"].get("egress", [])]
    assert rules and not [r for r in rules if any(port.get("port") == 53 for port in r.get("ports", []))]
    (executor,) = [d for d in bundle.kinds("Deployment") if d["metadata"]["namespace"] == "airlock-sbx-default"]
    env = {e["name"]: e.get("value") for e in executor["spec"]["template"]["spec"]["containers"][0]["env"]}
    host = env["HTTPS_PROXY"].removeprefix("http://").rpartition(":")[0]
    assert ipaddress.ip_address(host)
    # A pool with CIDR entries may still resolve internal names to them.
    data = [p for p in bundle.kinds("NetworkPolicy") if p["metadata"]["namespace"] == "airlock-sbx-data"]
    assert [r for p in data for r in p["spec"].get("egress", []) if any(port.get("port") == 53 for port in r.get("ports", []))]
