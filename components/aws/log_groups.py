"""CloudWatch log groups for AWS-written logs (VPC flow logs, EKS control plane).

One KMS key serves them; its policy lets CloudWatch Logs use it for exactly these groups,
so their ARNs are known before any group exists (they are derived from names).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.aws.account import AwsAccount
from components.aws.names import control_plane_log_group, flow_log_group
from components.aws.tags import aws_tags
from components.aws.stack import AwsStack


def platform_log_groups(stack: AwsStack) -> list[str]:
    return [flow_log_group(stack), control_plane_log_group(stack)]


def log_group_arn(account: AwsAccount, group_name: str) -> pulumi.Output[str]:
    """The ARN CloudWatch Logs uses as encryption context (no trailing ``:*``)."""
    return account.arn("logs", f"log-group:{group_name}")


def encrypted_log_group(
    resource_name: str,
    stack: AwsStack,
    group_name: str,
    retention_days: int,
    key_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> aws.cloudwatch.LogGroup:
    return aws.cloudwatch.LogGroup(
        resource_name,
        name=group_name,
        retention_in_days=retention_days,
        kms_key_id=key_arn,
        tags=aws_tags(stack, group_name),
        opts=opts,
    )
