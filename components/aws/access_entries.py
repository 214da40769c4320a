"""EKS access entries for principals beyond the first deployer (``cluster.accessEntries``).

With ``authenticationMode: API`` only the identity that created the cluster can reach it
until access entries exist for others; a CI role or a teammate needs one entry plus one
access-policy association each.
"""

from __future__ import annotations

from typing import Sequence

import pulumi
import pulumi_aws as aws

from components.aws.stack import AwsStack
from components.aws.tags import aws_tags
from components.config.schema import AccessEntryConfig

ACCESS_POLICIES = {
    "cluster-admin": "AmazonEKSClusterAdminPolicy",
    "admin": "AmazonEKSAdminPolicy",
    "edit": "AmazonEKSEditPolicy",
    "view": "AmazonEKSViewPolicy",
}


def access_policy_arn(partition: pulumi.Input[str], access: str) -> pulumi.Output[str]:
    return pulumi.Output.concat("arn:", partition, ":eks::aws:cluster-access-policy/", ACCESS_POLICIES[access])


def cluster_access_entries(
    name: str,
    stack: AwsStack,
    entries: Sequence[AccessEntryConfig],
    cluster: aws.eks.Cluster,
    partition: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> list[aws.eks.AccessPolicyAssociation]:
    associations = []
    for index, entry in enumerate(entries):
        associations.append(_entry(f"{name}-access-{index}", stack, cluster, partition, entry, opts))
    return associations


def _entry(
    resource_name: str,
    stack: AwsStack,
    cluster: aws.eks.Cluster,
    partition: pulumi.Input[str],
    entry: AccessEntryConfig,
    opts: pulumi.ResourceOptions,
) -> aws.eks.AccessPolicyAssociation:
    access_entry = aws.eks.AccessEntry(
        resource_name,
        cluster_name=cluster.name,
        principal_arn=entry.principal_arn,
        type="STANDARD",
        tags=aws_tags(stack, resource_name),
        opts=opts,
    )
    scope = (
        aws.eks.AccessPolicyAssociationAccessScopeArgs(type="namespace", namespaces=list(entry.namespaces))
        if entry.namespaces
        else aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster")
    )
    return aws.eks.AccessPolicyAssociation(
        resource_name,
        cluster_name=cluster.name,
        principal_arn=access_entry.principal_arn,
        policy_arn=access_policy_arn(partition, entry.access),
        access_scope=scope,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[access_entry])),
    )
