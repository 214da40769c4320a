"""The secret store and who can read it, as synthesized."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airlock.synth.engine import run_program
from aws_bundle import AWS_STACKS, as_list, role_named, role_policies, trust_subjects
from components.config.loader import FlatConfig, read_stack_file
from support import make_project, shipped, stack_document


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_every_kms_key_rotates(stack: str) -> None:
    keys = shipped(stack).of_type("aws:kms/key:Key")
    assert len(keys) >= 5  # logs, EKS secrets, registry, secret store, runtime data
    for key in keys:
        assert key["inputs"]["enableKeyRotation"] is True, key["name"]


@pytest.mark.parametrize("stack", ("dev", "prod"))
def test_one_secret_per_entry_under_the_customer_key(stack: str) -> None:
    bundle = shipped(stack)
    names = [s["name"] for s in stack_document(stack)["config"]["airlock:secrets"]]
    secrets = {s["inputs"]["tags"]["airlock:secret"]: s["inputs"] for s in bundle.of_type("aws:secretsmanager/secret:Secret")}
    assert sorted(secrets) == sorted(names)
    keys = {s["kmsKeyId"] for s in secrets.values()}
    assert len(keys) == 1 and keys.pop().startswith("arn:aws:kms:"), "one customer-managed key, not aws/secretsmanager"
    # No value in the stack file: the entry is created empty, nothing passes through state.
    assert bundle.of_type("aws:secretsmanager/secretVersion:SecretVersion") == []


def test_a_configured_value_becomes_a_secret_version_that_stays_secret(tmp_path: Path) -> None:
    # As `pulumi up` runs it: the engine hands the program the decrypted value of the
    # secret config key; the program must keep it secret all the way into the resource.
    document = stack_document("dev")
    document["config"]["airlock:secrets"][0]["value"] = {"secure": "v1:AAAAc2VjcmV0LWNpcGhlcnRleHQ="}
    project = make_project(tmp_path, {"dev": document})
    flat = read_stack_file(project, "dev")
    assert "airlock:secrets" in flat.secret_keys
    decrypted = flat.values["airlock:secrets"].replace('"[secret]"', '"sk-ant-decrypted-by-the-engine"')
    run = run_program(project, "airlock", "dev", FlatConfig({**flat.values, "airlock:secrets": decrypted}, flat.secret_keys), "us-east-1")
    (version,) = [r for r in run.resources if r.type == "aws:secretsmanager/secretVersion:SecretVersion"]
    assert version.inputs["secretString"] == "[secret]"
    assert all("sk-ant-decrypted" not in json.dumps(r.inputs) for r in run.resources)


@pytest.mark.parametrize("stack", ("dev", "prod"))
def test_orchestrator_reads_exactly_its_secrets_with_exactly_their_key(stack: str) -> None:
    bundle = shipped(stack)
    statements = role_policies(bundle, f"airlock-{stack}-orchestrator")
    secret_reads = [s for s in statements if "secretsmanager:GetSecretValue" in as_list(s["Action"])]
    assert len(secret_reads) == 1
    assert as_list(secret_reads[0]["Action"]) == ["secretsmanager:GetSecretValue"]
    assert sorted(secret_reads[0]["Resource"]) == sorted(bundle.outputs["secretArns"].values())
    (secret_key,) = {s["inputs"]["kmsKeyId"] for s in bundle.of_type("aws:secretsmanager/secret:Secret")}
    decrypts = [s for s in statements if secret_key in as_list(s["Resource"])]
    assert len(decrypts) == 1
    assert as_list(decrypts[0]["Action"]) == ["kms:Decrypt"]
    assert decrypts[0]["Resource"] == [secret_key]
    assert decrypts[0]["Condition"]["StringEquals"]["kms:ViaService"] == "secretsmanager.us-east-1.amazonaws.com"


@pytest.mark.parametrize("stack", ("dev", "prod"))
def test_no_other_role_can_read_the_secrets(stack: str) -> None:
    bundle = shipped(stack)
    secret_arns = set(bundle.outputs["secretArns"].values())
    readers = {
        policy["inputs"]["role"]
        for policy in bundle.of_type("aws:iam/rolePolicy:RolePolicy")
        for statement in json.loads(policy["inputs"]["policy"])["Statement"]
        if secret_arns & set(as_list(statement.get("Resource")))
    }
    assert readers == {f"airlock-{stack}-orchestrator"}


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_only_known_service_accounts_can_assume_roles_and_never_a_sandbox(stack: str) -> None:
    bundle = shipped(stack)
    subjects = sorted(
        subject for role in bundle.of_type("aws:iam/role:Role") for subject in trust_subjects(role)
    )
    expected = [
        "system:serviceaccount:airlock-orchestrator:orchestrator",
        "system:serviceaccount:kube-system:aws-node",
        "system:serviceaccount:kube-system:ebs-csi-controller-sa",
    ]
    if stack == "airgap":  # weights mirrored in S3
        expected.append("system:serviceaccount:airlock-models:model-server")
    if stack == "prod":  # the orchestrator autoscales on its SQS queue: KEDA reads the queue's depth
        expected.append("system:serviceaccount:keda:keda-operator")
    assert subjects == sorted(expected)
    for role in bundle.of_type("aws:iam/role:Role"):
        assert "airlock-sbx-" not in role["inputs"]["assumeRolePolicy"], role["name"]
    assert role_named(bundle, f"airlock-{stack}-orchestrator")


def test_bedrock_models_are_invocable_by_the_orchestrator_only(tmp_path: Path) -> None:
    from support import set_key, synthesize

    document = stack_document("dev")
    set_key(
        document,
        "cloudModels",
        [
            *document["config"]["airlock:cloudModels"],
            {"name": "bedrock-direct", "provider": "bedrock", "model": "anthropic.claude-3-5-haiku-20241022-v1:0"},
            {"name": "bedrock-profile", "provider": "bedrock", "model": "us.anthropic.claude-sonnet-4-5-20250929-v1:0"},
        ],
    )
    bundle = synthesize(make_project(tmp_path, {"dev": document}), "dev", tmp_path / "out")
    statements = [s for s in role_policies(bundle, "airlock-dev-orchestrator") if "bedrock:InvokeModel" in as_list(s["Action"])]
    resources = sorted(r for s in statements for r in s["Resource"])
    assert resources == [
        "arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
    ]
    assert all(sorted(as_list(s["Action"])) == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"] for s in statements)
