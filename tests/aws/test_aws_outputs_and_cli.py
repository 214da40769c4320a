"""What a platform engineer gets back (stack outputs) and what a bad stack gets (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aws_bundle import AWS_STACKS
from support import make_project, run_cli, set_key, shipped, stack_document

EXPECTED_OUTPUTS = {
    "clusterName",
    "clusterEndpoint",
    "kubeconfig",
    "registryUrls",
    "workQueueUrl",
    "stateTableName",
    "auditBucketName",
    "orchestratorRoleArn",
    "oidcProviderArn",
    "secretArns",
    "vpcId",
}


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_outputs_a_platform_engineer_needs(stack: str) -> None:
    outputs = shipped(stack).outputs
    assert EXPECTED_OUTPUTS <= set(outputs)
    assert outputs["kubeconfig"] == "[secret]"
    assert outputs["clusterName"] == f"airlock-{stack}"
    assert outputs["clusterEndpoint"].startswith("https://")
    assert outputs["workQueueUrl"].startswith("https://sqs.us-east-1.amazonaws.com/")
    assert outputs["orchestratorRoleArn"].endswith(f":role/airlock-{stack}-orchestrator")


def test_model_server_role_only_where_weights_come_from_s3() -> None:
    assert shipped("airgap").outputs["modelServerRoleArn"].endswith(":role/airlock-airgap-model-server")
    assert "modelServerRoleArn" not in shipped("prod").outputs


def test_model_server_reads_only_the_mirrored_prefixes() -> None:
    import json

    bundle = shipped("airgap")
    (policy,) = [p for p in bundle.of_type("aws:iam/rolePolicy:RolePolicy") if p["inputs"]["role"] == "airlock-airgap-model-server"]
    statements = json.loads(policy["inputs"]["policy"])["Statement"]
    actions = {a for s in statements for a in s["Action"]}
    assert actions == {"s3:GetObject", "s3:ListBucket"}
    uris = [m["weightsUri"] for m in stack_document("airgap")["config"]["airlock:models"]]
    objects = sorted(r for s in statements if s["Action"] == ["s3:GetObject"] for r in s["Resource"])
    assert objects == sorted(uri.replace("s3://", "arn:aws:s3:::") + "/*" for uri in uris)


def test_airgapped_stack_with_public_api_cidrs_is_rejected(tmp_path: Path) -> None:
    document = set_key(stack_document("airgap"), "cluster", {"endpointPublicAccessCidrs": ["203.0.113.0/24"]})
    project = make_project(tmp_path, {"leaky": document})
    out = tmp_path / "bundle"
    result = run_cli("synth", "leaky", "--out", str(out), cwd=project)
    assert result.returncode == 2, result.stderr
    assert "airlock:cluster.endpointPublicAccessCidrs" in result.stderr
    assert "203.0.113.0/24" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not out.exists()
