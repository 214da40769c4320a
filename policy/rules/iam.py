"""IAM: identity policies, trust policies and managed-policy attachments."""

from __future__ import annotations

from typing import Iterator

from policy.awsdocs import Statement, statements
from policy.model import Problem, Resource
from policy.rules.define import resource_rule

IDENTITY_POLICIES = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}
ROLE = "aws:iam/role:Role"
ATTACHMENTS = ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/policyAttachment:PolicyAttachment")
ADMIN_POLICIES = ("AdministratorAccess", "IAMFullAccess", "PowerUserAccess", "AmazonS3FullAccess", "SecretsManagerReadWrite", "AWSKeyManagementServicePowerUser")
READ_ONLY_PREFIXES = ("describe", "list", "get")


def _identity_statements(resource: Resource) -> Iterator[Statement]:
    field = IDENTITY_POLICIES.get(resource.type)
    if field:
        yield from (s for s in statements(resource, field) if s.effect == "Allow")
    if resource.type == ROLE:
        for index, inline in enumerate(resource.inputs.get("inlinePolicies") or []):
            if isinstance(inline, dict):
                nested = Resource(resource.type, resource.name, {"policy": inline.get("policy")})
                for s in statements(nested, "policy"):
                    if s.effect == "Allow":
                        yield Statement(f"inlinePolicies[{index}].{s.path}", s.body)


@resource_rule(
    "AIRLOCK-IAM-001",
    "No identity policy allows every action",
    "high",
    "Action '*' (or '*:*') is administrator access: one leaked credential owns the account.",
    [*IDENTITY_POLICIES, ROLE],
    checkov=("CKV_AWS_62", "CKV_AWS_63"),
    cdk_nag=("AwsSolutions-IAM5",),
)
def no_star_actions(resource: Resource) -> Iterator[Problem]:
    for statement in _identity_statements(resource):
        if any(a in ("*", "*:*") for a in statement.actions):
            yield Problem(f"{statement.path}.Action", "allows every action ('*')")


@resource_rule(
    "AIRLOCK-IAM-002",
    "No identity policy allows a whole service ('svc:*')",
    "medium",
    "A service-wide wildcard grants actions nobody reviewed, including ones AWS adds later; list the actions the workload needs.",
    [*IDENTITY_POLICIES, ROLE],
    cdk_nag=("AwsSolutions-IAM5",),
)
def no_service_wildcards(resource: Resource) -> Iterator[Problem]:
    for statement in _identity_statements(resource):
        for action in statement.actions:
            if action.endswith(":*") and action != "*:*":
                yield Problem(f"{statement.path}.Action", f"allows every {action.split(':')[0]} action ({action})")


@resource_rule(
    "AIRLOCK-IAM-003",
    "Actions that change or read data are scoped to named resources",
    "medium",
    "Resource '*' on anything beyond Describe/List/Get-style discovery lets a workload touch every resource of that type in the account.",
    [*IDENTITY_POLICIES, ROLE],
    cdk_nag=("AwsSolutions-IAM5",),
)
def scoped_resources(resource: Resource) -> Iterator[Problem]:
    for statement in _identity_statements(resource):
        if "*" not in statement.resources:
            continue
        broad = [a for a in statement.actions if not a.split(":")[-1].lower().startswith(READ_ONLY_PREFIXES) or a.split(":")[-1].lower() in ("getsecretvalue", "getobject")]
        if broad:
            yield Problem(f"{statement.path}.Resource", f"Resource '*' for {', '.join(sorted(broad))}")


@resource_rule(
    "AIRLOCK-IAM-004",
    "No role trusts every principal",
    "high",
    "A trust policy with Principal '*' and no condition lets anyone, in any account, assume the role.",
    [ROLE],
)
def trust_not_public(resource: Resource) -> Iterator[Problem]:
    for statement in statements(resource, "assumeRolePolicy"):
        if statement.effect == "Allow" and "*" in statement.principals() and not statement.condition:
            yield Problem(f"{statement.path}.Principal", "any principal may assume this role")


@resource_rule(
    "AIRLOCK-IAM-005",
    "Web-identity (IRSA) trust pins the audience and an exact service account",
    "high",
    "Without an exact ':sub' condition, every pod in the cluster (including sandboxes) can assume the role with its projected token.",
    [ROLE],
)
def irsa_pinned(resource: Resource) -> Iterator[Problem]:
    for statement in statements(resource, "assumeRolePolicy"):
        if statement.effect != "Allow" or "sts:AssumeRoleWithWebIdentity" not in statement.actions:
            continue
        exact = statement.condition.get("StringEquals") or {}
        subs = [v for k, v in exact.items() if k.endswith(":sub")]
        auds = [v for k, v in exact.items() if k.endswith(":aud")]
        if not subs:
            yield Problem(f"{statement.path}.Condition", "no StringEquals on the token's ':sub' (service account)")
        elif any("*" in str(value) for sub in subs for value in (sub if isinstance(sub, list) else [sub])):
            yield Problem(f"{statement.path}.Condition", "the ':sub' condition contains a wildcard")
        if not auds:
            yield Problem(f"{statement.path}.Condition", "no StringEquals on the token's ':aud'")


@resource_rule(
    "AIRLOCK-IAM-006",
    "No administrator-class managed policy is attached",
    "high",
    "AdministratorAccess, PowerUserAccess and *FullAccess policies grant far more than any Airlock workload needs.",
    ATTACHMENTS,
    cdk_nag=("AwsSolutions-IAM4",),
)
def no_admin_attachments(resource: Resource) -> Iterator[Problem]:
    arn = str(resource.inputs.get("policyArn", ""))
    name = arn.rsplit("/", 1)[-1]
    if name in ADMIN_POLICIES or name.endswith("FullAccess"):
        yield Problem("policyArn", f"attaches {name}")
