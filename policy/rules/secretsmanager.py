"""Secrets Manager: customer keys, scoped reads, recovery windows, secret policies."""

from __future__ import annotations

from typing import Iterator

from policy.awsdocs import action_matches, statements
from policy.model import Problem, Resource
from policy.rules.define import resource_rule

SECRET = "aws:secretsmanager/secret:Secret"
SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"

@resource_rule(
    "AIRLOCK-SM-001",
    "Secrets are encrypted with a customer-managed KMS key",
    "medium",
    "With the AWS-managed key anyone with secretsmanager:GetSecretValue reads the secret; a CMK adds a key policy as a second gate.",
    [SECRET],
    checkov=("CKV_AWS_149",),
)
def secret_cmk(resource: Resource) -> Iterator[Problem]:
    if not resource.inputs.get("kmsKeyId"):
        yield Problem("kmsKeyId", "encrypted with the AWS-managed key")


@resource_rule(
    "AIRLOCK-SM-002",
    "Secret reads name the secrets they read",
    "high",
    "secretsmanager:GetSecretValue on Resource '*' lets a workload read every secret in the account, not only its own.",
    ["aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"],
)
def secret_reads_scoped(resource: Resource) -> Iterator[Problem]:
    for statement in statements(resource, "policy"):
        if statement.effect != "Allow":
            continue
        reads = any(action_matches(a, "secretsmanager:GetSecretValue") for a in statement.actions)
        if reads and any(r == "*" or r.endswith(":secret:*") for r in statement.resources):
            yield Problem(f"{statement.path}.Resource", "reads every secret ('*')")


@resource_rule(
    "AIRLOCK-SM-003",
    "Deleted secrets keep a recovery window",
    "low",
    "recoveryWindowInDays 0 deletes a secret immediately; a mistaken delete then breaks every agent using it with no way back.",
    [SECRET],
)
def recovery_window(resource: Resource) -> Iterator[Problem]:
    days = resource.inputs.get("recoveryWindowInDays", 30)
    if isinstance(days, (int, float)) and days < 7:
        yield Problem("recoveryWindowInDays", f"recovery window of {days} days (needs at least 7)")


@resource_rule(
    "AIRLOCK-SM-004",
    "No secret resource policy shares the secret with everyone",
    "high",
    "A secret policy with Principal '*' and no condition lets any AWS account read the credential.",
    [SECRET_POLICY, SECRET],
)
def secret_policy_not_public(resource: Resource) -> Iterator[Problem]:
    for statement in statements(resource, "policy"):
        if statement.effect == "Allow" and "*" in statement.principals() and not statement.condition:
            yield Problem(f"{statement.path}.Principal", "any principal may read this secret")
