"""What holds for every object in every shipped stack: closed namespaces, bounded and
unprivileged containers, role labels, pinned images, schema-valid manifests."""

from __future__ import annotations

import pytest

from airlock.synth.manifests import Manifest, validate
from components.config.images import ImageRef
from support import STACKS, shipped, stack_document
from workload_manifests import ROLE, containers, in_namespace, kinds, manifests, pod_spec, workloads

ROLES = {"sandbox", "model-server", "orchestrator", "egress-proxy", "telemetry", "system"}
CORE_NAMESPACES = {"airlock-orchestrator", "airlock-telemetry"}
# The one workload Airlock puts outside its own namespaces, and the one that runs as root:
# the NVIDIA device plugin must write its socket into the kubelet's root-owned
# /var/lib/kubelet/device-plugins (docs/aws.md). Everything else about it stays locked down.
DEVICE_PLUGIN = ("kube-system", "nvidia-device-plugin")


def _is_device_plugin(manifest: dict) -> bool:
    return (manifest["metadata"].get("namespace"), manifest["metadata"]["name"]) == DEVICE_PLUGIN


@pytest.mark.parametrize("stack", STACKS)
def test_every_namespace_starts_closed(stack: str) -> None:
    bundle = shipped(stack)
    namespaces = {n["metadata"]["name"] for n in kinds(bundle, "Namespace")}
    assert CORE_NAMESPACES <= namespaces
    for namespace in namespaces:
        policies = in_namespace(bundle, namespace, "NetworkPolicy")
        assert any(
            p["spec"]["podSelector"] == {} and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"} and not p["spec"].get("egress")
            for p in policies
        ), f"{namespace} has no default-deny policy"
    # And nothing lives outside the namespaces Airlock owns (never 'default'), but the device plugin.
    for manifest in manifests(bundle):
        if not _is_device_plugin(manifest):
            assert manifest["metadata"].get("namespace") in namespaces | {None}


@pytest.mark.parametrize("stack", STACKS)
def test_every_namespace_enforces_pod_security_restricted(stack: str) -> None:
    for namespace in kinds(shipped(stack), "Namespace"):
        labels = namespace["metadata"]["labels"]
        assert {labels[f"pod-security.kubernetes.io/{mode}"] for mode in ("enforce", "audit", "warn")} == {"restricted"}


@pytest.mark.parametrize("stack", STACKS)
def test_every_container_is_bounded_and_unprivileged(stack: str) -> None:
    bundle = shipped(stack)
    seen = 0
    for workload, container in containers(bundle):
        seen += 1
        where = f"{workload['metadata']['namespace']}/{workload['metadata']['name']}/{container['name']}"
        for kind in ("requests", "limits"):
            assert {"cpu", "memory", "ephemeral-storage"} <= set(container["resources"][kind]), where
        context = container["securityContext"]
        spec = pod_spec(workload)
        assert context["privileged"] is False and context["allowPrivilegeEscalation"] is False, where
        assert context["readOnlyRootFilesystem"] is True and context["capabilities"] == {"drop": ["ALL"]}, where
        seccomp = context.get("seccompProfile") or spec["securityContext"]["seccompProfile"]
        assert seccomp["type"] == "RuntimeDefault", where
        assert spec["automountServiceAccountToken"] is False and spec.get("serviceAccountName", "default") != "default" or _is_device_plugin(workload), where
        assert not any(spec.get(k) for k in ("hostNetwork", "hostPID", "hostIPC")), where
        host_paths = [v["hostPath"]["path"] for v in spec.get("volumes", []) if "hostPath" in v]
        if _is_device_plugin(workload):
            assert host_paths == ["/var/lib/kubelet/device-plugins"] and workload["metadata"]["labels"][ROLE] == "system"
            continue
        assert context["runAsNonRoot"] is True, where
        assert spec["securityContext"]["runAsUser"] > 0 and spec["securityContext"]["runAsNonRoot"] is True, where
        assert not host_paths, where
    assert seen >= 4


@pytest.mark.parametrize("stack", STACKS)
def test_every_object_and_pod_carries_its_role(stack: str) -> None:
    bundle = shipped(stack)
    for manifest in manifests(bundle):
        role = manifest["metadata"].get("labels", {}).get(ROLE)
        assert role in ROLES, f"{manifest['kind']} {manifest['metadata']['name']}"
        namespace = manifest["metadata"].get("namespace")
        if namespace and not _is_device_plugin(manifest):  # an object's role is its namespace's role
            (ns,) = [n for n in kinds(bundle, "Namespace") if n["metadata"]["name"] == namespace]
            assert ns["metadata"]["labels"][ROLE] == role, f"{manifest['kind']} {manifest['metadata']['name']}"
    for workload in workloads(bundle):
        assert workload["spec"]["template"]["metadata"]["labels"][ROLE] == workload["metadata"]["labels"][ROLE]


@pytest.mark.parametrize("stack", ["airgap", "onprem"])
def test_airgapped_images_are_pinned_by_digest(stack: str) -> None:
    images = [container["image"] for _, container in containers(shipped(stack))]
    # Images built from this repository ship as "@unset", which blocks deployment until
    # their digest is filled in (tests/aws/test_first_deploy.py); every other one is pinned.
    configured = stack_document(stack)["config"]["airlock:images"].values()
    unset = {ImageRef.parse(v).basename for v in configured if ImageRef.parse(v).digest_unset}
    assert unset == {"runtime", "sandbox-executor"}
    assert images and all(ImageRef.parse(image).digest or ImageRef.parse(image).basename in unset for image in images), images


def test_onprem_pulls_every_image_from_its_mirror() -> None:
    mirror = stack_document("onprem")["config"]["airlock:images"]["mirror"]
    for _, container in containers(shipped("onprem")):
        assert container["image"].startswith(f"{mirror}/"), container["image"]


@pytest.mark.parametrize("stack", STACKS)
def test_no_floating_tags_and_no_exposed_services(stack: str) -> None:
    bundle = shipped(stack)
    for _, container in containers(bundle):
        ref = ImageRef.parse(container["image"])
        assert ref.digest or (ref.tag and ref.tag != "latest"), container["image"]
    for service in kinds(bundle, "Service"):
        assert service["spec"]["type"] == "ClusterIP"


@pytest.mark.parametrize("stack", ["prod", "airgap", "onprem"])
def test_every_manifest_in_the_bundle_validates(stack: str) -> None:
    bundle = shipped(stack)
    version = stack_document(stack)["config"].get("airlock:cluster", {}).get("kubernetesVersion", "1.33")
    kinds = set()
    for manifest in manifests(bundle):
        validate(Manifest(manifest), version)  # strict: unknown fields are errors
        kinds.add(manifest["kind"])
    assert {"Deployment", "Service", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodDisruptionBudget"} <= kinds
