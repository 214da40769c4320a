"""The documented sandbox probe Job: a valid manifest that a sandbox namespace admits."""

from __future__ import annotations

import pytest

from airlock.synth.manifests import Manifest, validate
from components.config.images import ImageRef
from support import PROJECT_DIR, shipped
from workload_manifests import get, in_namespace, load_yaml

PROBE = PROJECT_DIR / "docs" / "examples" / "sandbox-probe-job.yaml"


def probe_job() -> dict:
    (job,) = load_yaml(PROBE)
    return job


@pytest.mark.parametrize("version", ["1.31", "1.33"])
def test_probe_job_is_valid_against_the_kubernetes_schema(version: str) -> None:
    validate(Manifest(probe_job()), version)  # raises ManifestError on any unknown or bad field


def test_probe_job_runs_as_the_executor_and_tries_every_forbidden_destination() -> None:
    job = probe_job()
    bundle = shipped("prod")
    namespace = job["metadata"]["namespace"]
    spec = job["spec"]["template"]["spec"]
    # Same namespace and identity as the executor, so it sees exactly what sandboxed code sees.
    executor = get(bundle, "Deployment", namespace, "sandbox-executor")["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == executor["serviceAccountName"]
    assert spec["automountServiceAccountToken"] is False
    (container,) = spec["containers"]
    # The same image (the docs tell you to substitute the live executor's reference; the
    # stack's registry prefix differs per deployment, the repository and version do not).
    probe_image, executor_image = ImageRef.parse(container["image"]), ImageRef.parse(executor["containers"][0]["image"])
    assert (probe_image.basename, probe_image.tag) == (executor_image.basename, executor_image.tag)
    script = "\n".join(container["args"])
    for target in ("169.254.169.254", "kubernetes.default.svc", "1.1.1.1", "airlock-telemetry.svc", "airlock-orchestrator.svc"):
        assert target in script
    assert "sys.exit(1 if reached else 0)" in script  # any success fails the Job
    assert job["spec"]["backoffLimit"] == 0


def test_probe_job_is_admitted_by_pod_security_quota_and_limit_range() -> None:
    job = probe_job()
    bundle = shipped("prod")
    namespace = job["metadata"]["namespace"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    context = container["securityContext"]
    assert context["runAsNonRoot"] and not context["allowPrivilegeEscalation"] and context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    (limit_range,) = in_namespace(bundle, namespace, "LimitRange")
    maximum = next(item for item in limit_range["spec"]["limits"] if item["type"] == "Container")["max"]
    from components.config.quantities import parse_quantity

    for resource, limit in container["resources"]["limits"].items():
        assert parse_quantity(limit) <= parse_quantity(maximum[resource]), resource
    # The quota counts requests and limits of cpu, memory and ephemeral storage: all are set.
    for key in ("requests", "limits"):
        assert set(container["resources"][key]) == {"cpu", "memory", "ephemeral-storage"}
