"""IAM policy documents: built from named actions and resources, rendered once as JSON.

Every document Airlock writes (role, key, bucket and endpoint policies) goes through
``document``, which refuses an Allow statement with a wildcard action (``*``, ``s3:*``,
``kms:Describe*``): permissions are listed one by one so an auditor can read exactly what
each principal may do (CKV_AWS_62/63, AwsSolutions-IAM5). Deny statements may use
wildcards; a broader Deny only takes access away.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

import pulumi

Statement = dict[str, Any]
POLICY_VERSION = "2012-10-17"


class WildcardActionError(ValueError):
    """A programming error: an Allow statement that grants a wildcard action."""


Resources = Sequence[pulumi.Input[str]] | pulumi.Input[str] | None


def allow(
    actions: Sequence[str],
    resources: Resources,
    *,
    sid: str | None = None,
    principal: Mapping[str, Any] | str | None = None,
    conditions: Mapping[str, Mapping[str, Any]] | None = None,
) -> Statement:
    return _statement("Allow", actions, resources, sid, principal, conditions)


def deny(
    actions: Sequence[str],
    resources: Resources,
    *,
    sid: str | None = None,
    principal: Mapping[str, Any] | str | None = None,
    conditions: Mapping[str, Mapping[str, Any]] | None = None,
) -> Statement:
    return _statement("Deny", actions, resources, sid, principal, conditions)


def _statement(effect, actions, resources, sid, principal, conditions) -> Statement:
    if effect == "Allow":
        wildcards = [a for a in actions if "*" in a or "?" in a]
        if wildcards:
            raise WildcardActionError(f"Allow statement {sid or ''} grants wildcard actions {wildcards}; list each action")
    statement: Statement = {}
    if sid:
        statement["Sid"] = sid
    statement["Effect"] = effect
    if principal is not None:
        statement["Principal"] = principal
    statement["Action"] = sorted(actions)
    # Trust policies name no resource (None); everything else names exact ARNs.
    if resources is not None:
        statement["Resource"] = list(resources) if isinstance(resources, (list, tuple)) else resources
    if conditions:
        statement["Condition"] = {op: dict(values) for op, values in conditions.items()}
    return statement


def document(*statements: Statement) -> pulumi.Output[str]:
    """The JSON policy; Outputs anywhere in the statements (ARNs, ids) are resolved first."""
    return pulumi.Output.json_dumps({"Version": POLICY_VERSION, "Statement": list(statements)}, sort_keys=False)


def service_trust(service: str, conditions: Mapping[str, Mapping[str, Any]] | None = None) -> pulumi.Output[str]:
    """A role trust policy for an AWS service (eks.amazonaws.com, ec2.amazonaws.com, ...)."""
    return document(allow(["sts:AssumeRole"], None, principal={"Service": service}, conditions=conditions))


def irsa_trust(
    oidc_provider_arn: pulumi.Input[str], oidc_issuer: pulumi.Input[str], subjects: Sequence[str]
) -> pulumi.Output[str]:
    """Trust for IAM roles for service accounts: only tokens the cluster's OIDC issuer signed
    for exactly these ``system:serviceaccount:<namespace>:<name>`` subjects, for STS."""

    def render(values: list[str]) -> str:
        provider_arn, issuer = values
        statement = allow(
            ["sts:AssumeRoleWithWebIdentity"],
            None,
            principal={"Federated": provider_arn},
            conditions={
                "StringEquals": {
                    f"{issuer}:sub": list(subjects) if len(subjects) > 1 else subjects[0],
                    f"{issuer}:aud": "sts.amazonaws.com",
                }
            },
        )
        return json.dumps({"Version": POLICY_VERSION, "Statement": [statement]})

    return pulumi.Output.all(oidc_provider_arn, oidc_issuer).apply(render)
