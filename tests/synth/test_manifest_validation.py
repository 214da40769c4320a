"""Every Kubernetes object in a bundle is checked against the cluster version's schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from airlock.synth.manifests import Manifest, ManifestError, validate
from support import make_project, run_cli, stack_document

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "demo"},
    "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
        },
    },
}


def test_valid_object_passes() -> None:
    validate(Manifest(DEPLOYMENT), "1.33")


def test_unknown_field_fails_strictly_with_kind_name_and_path() -> None:
    broken = {**DEPLOYMENT, "spec": {**DEPLOYMENT["spec"], "replica": 2}}
    with pytest.raises(ManifestError) as raised:
        validate(Manifest(broken), "1.33")
    message = str(raised.value)
    assert "Deployment 'web' in namespace demo is invalid" in message
    assert "'replica' was unexpected" in message


def test_wrong_type_fails_with_its_location() -> None:
    broken = {**DEPLOYMENT, "spec": {**DEPLOYMENT["spec"], "replicas": "two"}}
    with pytest.raises(ManifestError, match=r"at spec\.replicas: 'two' is not of type 'integer'"):
        validate(Manifest(broken), "1.33")


def test_field_newer_than_the_cluster_version_fails() -> None:
    # Pod-level resources (spec.resources) arrived in Kubernetes 1.32.
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}], "resources": {"limits": {"cpu": "1"}}},
    }
    validate(Manifest(pod), "1.33")
    with pytest.raises(ManifestError, match="'resources' was unexpected"):
        validate(Manifest(pod), "1.31")


def test_kind_without_any_schema_fails() -> None:
    with pytest.raises(ManifestError, match="no schema for apiVersion example.com/v1 kind Widget"):
        validate(Manifest({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}), "1.33")


def test_synth_fails_on_a_broken_object_and_writes_nothing(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"onprem": stack_document("onprem")})
    main = project / "__main__.py"
    main.write_text(
        main.read_text()
        + "\nimport pulumi_kubernetes as k8s\n"
        + "k8s.core.v1.ConfigMap('broken', metadata={'name': 'broken', 'namespace': 'default'}, "
        + "data={'key': 'value'}, binary_data=5, opts=pulumi.ResourceOptions(provider=platform.cluster.provider))\n"
    )
    result = run_cli("synth", "onprem", cwd=project)
    assert result.returncode == 1
    assert "ConfigMap 'broken' in namespace default is invalid" in result.stderr
    assert "binaryData" in result.stderr
    assert not (project / "out").exists()
