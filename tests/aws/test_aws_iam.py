"""Every IAM statement the stack writes: role trust and inline policies, key policies,
bucket policies, endpoint policies."""

from __future__ import annotations

import pytest

from aws_bundle import AWS_STACKS, as_list, policy_documents, role_named
from support import shipped


def is_tls_guard(statement: dict) -> bool:
    """The one wildcard we write: Deny s3:* without TLS, which only takes access away."""
    return (
        statement["Effect"] == "Deny"
        and as_list(statement["Action"]) == ["s3:*"]
        and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    )


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_no_statement_grants_a_wildcard_action(stack: str) -> None:
    documents = policy_documents(shipped(stack))
    kinds = {d.resource["type"] for d in documents}
    # The check covers every kind of policy the stack writes.
    assert {
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:kms/key:Key",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
    } <= kinds
    for document in documents:
        for statement in document.statements:
            assert "NotAction" not in statement, document.where()
            if is_tls_guard(statement):
                continue
            actions = as_list(statement["Action"])
            wildcards = [a for a in actions if "*" in a]
            assert wildcards == [], f"{document.where()} {statement.get('Sid', '')}: {wildcards}"


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_nothing_trusts_principals_outside_the_account(stack: str) -> None:
    for document in policy_documents(shipped(stack)):
        for statement in document.statements:
            principal = statement.get("Principal")
            if isinstance(principal, dict) and "AWS" in principal:
                for arn in as_list(principal["AWS"]):
                    assert arn == "arn:aws:iam::123456789012:root", (document.where(), arn)


def test_role_trust_policies_name_one_service_or_one_service_account() -> None:
    bundle = shipped("prod")
    for role in bundle.of_type("aws:iam/role:Role"):
        (document,) = [d for d in policy_documents(bundle) if d.resource is role and d.field == "assumeRolePolicy"]
        (statement,) = document.statements
        principal = statement["Principal"]
        assert set(principal) in ({"Service"}, {"Federated"}), role["name"]
        if "Federated" in principal:
            assert statement["Action"] == ["sts:AssumeRoleWithWebIdentity"]
            assert any(key.endswith(":sub") for key in statement["Condition"]["StringEquals"]), role["name"]
    assert role_named(bundle, "airlock-prod-control-plane")
