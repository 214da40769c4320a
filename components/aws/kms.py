"""Customer-managed KMS keys: one per purpose, rotated yearly, with a key policy that lists
every action it allows.

AWS's default key policy grants ``kms:*`` to the account. Ours splits that into key
administration (what ``pulumi up`` and admins need to manage the key, never
``kms:DisableKeyRotation``) and key use, delegated to IAM policies in this account and,
where the key serves one service, only through that service (``kms:ViaService``). Grants
may be created only for AWS resources (EKS, ECR, DynamoDB create them on our behalf).

Key policies name the key itself as ``"Resource": "*"``: that is how AWS defines key policy
resources (the policy is attached to exactly one key), not a wildcard over keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import pulumi
import pulumi_aws as aws

from components.aws.account import AwsAccount
from components.aws.names import kms_alias
from components.aws.policy import Statement, allow, document
from components.aws.tags import aws_tags
from components.aws.stack import AwsStack

KEY_ITSELF = "*"  # in a key policy, "*" is the key the policy is attached to

KEY_ADMINISTRATION = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
KEY_USE = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)
GRANTS = ("kms:CreateGrant", "kms:ListGrants", "kms:RetireGrant")
ROTATION_PERIOD_DAYS = 365
DELETION_WINDOW_DAYS = 30


@dataclass(frozen=True)
class EncryptionKeyArgs:
    stack: AwsStack
    account: AwsAccount
    # Short name: the alias is alias/<cluster>/<purpose>.
    purpose: str
    description: str
    # Services (sqs, s3, secretsmanager, ...) through which IAM principals may use the key;
    # empty: direct use (EKS envelope encryption calls KMS with the cluster role).
    via_services: Sequence[str] = ()
    # Statements for AWS service principals that cannot be delegated through IAM (CloudWatch Logs).
    service_statements: Sequence[Statement] = field(default_factory=tuple)


class EncryptionKey(pulumi.ComponentResource):
    key: aws.kms.Key
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: EncryptionKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:aws:EncryptionKey", name, None, opts)
        account = args.account
        root = {"AWS": account.root()}
        via = (
            {"StringEquals": {"kms:ViaService": [account.regional_service(s) for s in args.via_services]}}
            if args.via_services
            else None
        )
        grant_conditions = {"Bool": {"kms:GrantIsForAWSResource": "true"}}
        statements = [
            allow(KEY_ADMINISTRATION, KEY_ITSELF, sid="KeyAdministration", principal=root),
            allow(KEY_USE, KEY_ITSELF, sid="KeyUseThroughIam", principal=root, conditions=via),
            allow(GRANTS, KEY_ITSELF, sid="GrantsForAwsResources", principal=root, conditions=grant_conditions),
            *args.service_statements,
        ]
        self.key = aws.kms.Key(
            name,
            description=args.description,
            enable_key_rotation=True,
            rotation_period_in_days=ROTATION_PERIOD_DAYS,
            deletion_window_in_days=DELETION_WINDOW_DAYS,
            policy=document(*statements),
            tags=aws_tags(args.stack, kms_alias(args.stack, args.purpose).removeprefix("alias/")),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.kms.Alias(
            name,
            name=kms_alias(args.stack, args.purpose),
            target_key_id=self.key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = self.key.arn
        self.register_outputs({"arn": self.key.arn, "keyId": self.key.key_id})


def logs_service_statement(account: AwsAccount, log_group_arns: Sequence[pulumi.Input[str]]) -> Statement:
    """Lets CloudWatch Logs encrypt exactly these log groups with the key."""
    return allow(
        KEY_USE,
        KEY_ITSELF,
        sid="CloudWatchLogsForTheseGroups",
        principal={"Service": account.regional_service("logs")},
        conditions={"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": list(log_group_arns)}},
    )
