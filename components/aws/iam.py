"""IAM roles for Kubernetes service accounts (IRSA).

A pod gets AWS credentials only if its service account is named in a role's trust policy:
the trust names the cluster's OIDC provider and the exact ``system:serviceaccount:<ns>:<sa>``
subject, never a wildcard. Sandboxes have no such role, so sandboxed code holds no AWS
credentials at all (and IMDS is out of reach: hop limit 1, plus NetworkPolicy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_aws as aws

from components.aws.names import IAM_ROLE_MAX, scoped
from components.aws.policy import irsa_trust
from components.aws.tags import aws_tags
from components.aws.stack import AwsStack
from components.config.naming import service_account_subject


@dataclass(frozen=True)
class ServiceAccountRef:
    namespace: str
    name: str

    @property
    def subject(self) -> str:
        return service_account_subject(self.namespace, self.name)


@dataclass(frozen=True)
class IrsaRoleArgs:
    stack: AwsStack
    oidc_provider_arn: pulumi.Input[str]
    # Issuer URL without https://, as IRSA condition keys spell it.
    oidc_issuer: pulumi.Input[str]
    service_accounts: Sequence[ServiceAccountRef]
    description: str
    # AWS managed policies, for the few AWS-run agents whose permissions AWS maintains (VPC CNI, EBS CSI).
    managed_policy_arns: Sequence[pulumi.Input[str]] = ()


class IrsaRole(pulumi.ComponentResource):
    role: aws.iam.Role
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: IrsaRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:aws:IrsaRole", name, None, opts)
        if not args.service_accounts:
            raise ValueError("an IRSA role needs at least one service account to trust")
        role_name = scoped(args.stack, name, IAM_ROLE_MAX)
        self.role = aws.iam.Role(
            name,
            name=role_name,
            description=args.description,
            assume_role_policy=irsa_trust(
                args.oidc_provider_arn, args.oidc_issuer, [sa.subject for sa in args.service_accounts]
            ),
            # One hour: the SDK refreshes web-identity credentials on its own.
            max_session_duration=3600,
            tags=aws_tags(args.stack, role_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        for index, policy_arn in enumerate(args.managed_policy_arns):
            aws.iam.RolePolicyAttachment(
                f"{name}-managed-{index}",
                role=self.role.name,
                policy_arn=policy_arn,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.arn = self.role.arn
        self.register_outputs({"arn": self.role.arn, "subjects": [sa.subject for sa in args.service_accounts]})
