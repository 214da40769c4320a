"""The AWS account, partition and region a stack deploys into, and ARNs built from them.

Looked up once (two provider functions) and handed to every AWS component, so policies
name this account's resources exactly instead of matching ``*``, and the same program
works in every partition (aws, aws-us-gov, aws-cn).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class AwsAccount:
    id: pulumi.Output[str]
    partition: pulumi.Output[str]
    # amazonaws.com, or amazonaws.com.cn in China: the suffix of service principals and endpoints.
    dns_suffix: pulumi.Output[str]
    # com.amazonaws (cn.com.amazonaws in China): the prefix of VPC endpoint service names.
    reverse_dns_prefix: pulumi.Output[str]
    region: str

    @classmethod
    def current(cls, region: str) -> "AwsAccount":
        identity = aws.get_caller_identity_output()
        partition = aws.get_partition_output()
        return cls(
            id=identity.account_id,
            partition=partition.partition,
            dns_suffix=partition.dns_suffix,
            reverse_dns_prefix=partition.reverse_dns_prefix,
            region=region,
        )

    def arn(self, service: str, resource: str, *, regional: bool = True, in_account: bool = True) -> pulumi.Output[str]:
        """``arn:<partition>:<service>:<region>:<account>:<resource>``; S3 and IAM ARNs leave
        out the region (and S3 the account too)."""
        region = self.region if regional else ""
        account: pulumi.Input[str] = self.id if in_account else ""
        return pulumi.Output.concat("arn:", self.partition, ":", service, ":", region, ":", account, ":", resource)

    def managed_policy(self, policy_name: str) -> pulumi.Output[str]:
        """An AWS managed policy, e.g. ``AmazonEKSWorkerNodePolicy``."""
        return pulumi.Output.concat("arn:", self.partition, ":iam::aws:policy/", policy_name)

    def root(self) -> pulumi.Output[str]:
        """The account principal: delegates to IAM policies in this account, never to anyone else."""
        return self.arn("iam", "root", regional=False)

    def endpoint_service(self, service: str) -> pulumi.Output[str]:
        """The VPC endpoint service name, e.g. ``com.amazonaws.us-east-1.ecr.api``."""
        return pulumi.Output.concat(self.reverse_dns_prefix, ".", self.region, ".", service)

    def regional_service(self, service: str) -> pulumi.Output[str]:
        """``<service>.<region>.amazonaws.com``, as used in kms:ViaService conditions."""
        return pulumi.Output.concat(service, ".", self.region, ".", self.dns_suffix)
