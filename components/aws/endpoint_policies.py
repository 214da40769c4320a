"""What each VPC endpoint lets through: the calls Airlock's nodes and workloads make, by
principals of this account, on this account's resources.

An endpoint policy does not grant anything (IAM still decides); it caps what can cross
the endpoint, so a stolen credential from another account, or a request to another
account's bucket (data exfiltration), is refused inside the VPC. Three scoping tools,
combined per service:

* ``aws:PrincipalAccount``: only principals of this account may use the endpoint;
* resource ARNs of this account (``arn:...:<account>:...``) or ``aws:ResourceAccount``;
* explicit exceptions AWS needs: ECR image layers live in the AWS-owned
  ``prod-<region>-starport-layer-bucket``, and EKS add-on images (VPC CNI, CoreDNS,
  kube-proxy, EBS CSI) in AWS-owned ECR repositories.

Actions are listed one by one (no wildcards). A component that starts calling a new AWS
API adds it here, or the call fails inside the VPC with an explicit AccessDenied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pulumi

from components.aws.account import AwsAccount
from components.aws.kms import KEY_USE
from components.aws.policy import Statement, allow, document
from components.aws.runtime_stores import QUEUE_ACTIONS

ResourceFn = Callable[[AwsAccount], list[pulumi.Input[str]]]

# Resource "*" is used only where the listed actions support no resource-level
# permissions (ecr:GetAuthorizationToken, sts:GetCallerIdentity, ec2:Describe*, ...) or
# the resource lives in an AWS-owned account whose id varies by region (EKS add-on
# images); every such statement is still limited to this account's principals.
ANY_RESOURCE: ResourceFn = lambda account: ["*"]  # noqa: E731


@dataclass(frozen=True)
class Access:
    actions: tuple[str, ...]
    resources: ResourceFn = ANY_RESOURCE
    # False only for calls that carry no credentials of this account (AssumeRoleWithWebIdentity
    # is authenticated by the OIDC token; ECR layer downloads are presigned by ECR), which are
    # scoped by resource instead.
    principal_in_account: bool = True
    # Also require the target resource to belong to this account.
    resource_in_account: bool = False


def starport_layer_objects(account: AwsAccount) -> pulumi.Output[str]:
    return pulumi.Output.concat("arn:", account.partition, ":s3:::prod-", account.region, "-starport-layer-bucket/*")


def _arns(service: str, *patterns: str, regional: bool = True) -> ResourceFn:
    return lambda account: [account.arn(service, p, regional=regional) for p in patterns]


ECR_PULL = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:DescribeImages",
    "ecr:DescribeRepositories",
    "ecr:GetDownloadUrlForLayer",
    "ecr:ListImages",
)
S3_OBJECTS = (
    "s3:AbortMultipartUpload",
    "s3:GetBucketLocation",
    "s3:GetObject",
    "s3:GetObjectLegalHold",
    "s3:GetObjectRetention",
    "s3:GetObjectVersion",
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
    "s3:ListBucketVersions",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
)
DYNAMODB_ITEMS = (
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
)
# The VPC CNI (ENI and IP management) and the EBS CSI driver (model cache volumes).
EC2_NODE_APIS = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:AttachNetworkInterface",
    "ec2:AttachVolume",
    "ec2:CreateNetworkInterface",
    "ec2:CreateSnapshot",
    "ec2:CreateTags",
    "ec2:CreateVolume",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteSnapshot",
    "ec2:DeleteTags",
    "ec2:DeleteVolume",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeInstances",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSnapshots",
    "ec2:DescribeSubnets",
    "ec2:DescribeTags",
    "ec2:DescribeVolumes",
    "ec2:DescribeVolumesModifications",
    "ec2:DetachNetworkInterface",
    "ec2:DetachVolume",
    "ec2:ModifyNetworkInterfaceAttribute",
    "ec2:ModifyVolume",
    "ec2:UnassignPrivateIpAddresses",
)

ENDPOINT_ACCESS: dict[str, tuple[Access, ...]] = {
    "ecr.api": (
        Access(("ecr:GetAuthorizationToken",)),
        # Any registry: EKS add-on images come from AWS-owned accounts that differ by region.
        # Pull-only, and only for this account's principals, so nothing can be pushed out.
        Access(ECR_PULL),
    ),
    "ecr.dkr": (Access(("ecr:GetAuthorizationToken",)), Access(ECR_PULL)),
    "sts": (
        # IRSA: the web identity token is the credential; scope by the role assumed instead.
        Access(
            ("sts:AssumeRoleWithWebIdentity",),
            _arns("iam", "role/*", regional=False),
            principal_in_account=False,
        ),
        Access(("sts:AssumeRole", "sts:TagSession"), _arns("iam", "role/*", regional=False)),
        Access(("sts:GetCallerIdentity",)),
    ),
    "secretsmanager": (
        Access(("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"), _arns("secretsmanager", "secret:*")),
    ),
    "kms": (Access(KEY_USE, _arns("kms", "key/*")),),
    "logs": (
        Access(
            (
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogGroups",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
                "logs:PutRetentionPolicy",
            ),
            _arns("logs", "log-group:*"),
        ),
    ),
    "ec2": (Access(EC2_NODE_APIS),),
    "sqs": (Access(QUEUE_ACTIONS, _arns("sqs", "*")),),
    "s3": (
        # This account's buckets only: a request to someone else's bucket cannot leave the VPC.
        Access(S3_OBJECTS, resource_in_account=True),
        # ECR stores image layers in this AWS-owned bucket; nodes pull them through S3 with
        # URLs that ECR presigns with its own credentials, not this account's, so a
        # principal condition would refuse every uncached pull. Read-only, one bucket.
        Access(("s3:GetObject",), lambda account: [starport_layer_objects(account)], principal_in_account=False),
    ),
    "dynamodb": (Access(DYNAMODB_ITEMS, _arns("dynamodb", "table/*")),),
    "eks": (Access(("eks:DescribeCluster",), _arns("eks", "cluster/*")),),
    "eks-auth": (Access(("eks-auth:AssumeRoleForPodIdentity",), _arns("eks", "cluster/*")),),
    "elasticloadbalancing": (
        Access(
            (
                "elasticloadbalancing:AddListenerCertificates",
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:CreateLoadBalancer",
                "elasticloadbalancing:CreateRule",
                "elasticloadbalancing:CreateTargetGroup",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:DeleteRule",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:DeregisterTargets",
                "elasticloadbalancing:DescribeListenerAttributes",
                "elasticloadbalancing:DescribeListenerCertificates",
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeLoadBalancerAttributes",
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeRules",
                "elasticloadbalancing:DescribeSSLPolicies",
                "elasticloadbalancing:DescribeTags",
                "elasticloadbalancing:DescribeTargetGroupAttributes",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetHealth",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:ModifyListenerAttributes",
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:ModifyRule",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:RegisterTargets",
                "elasticloadbalancing:RemoveListenerCertificates",
                "elasticloadbalancing:RemoveTags",
                "elasticloadbalancing:SetIpAddressType",
                "elasticloadbalancing:SetSecurityGroups",
                "elasticloadbalancing:SetSubnets",
            ),
        ),
    ),
    "autoscaling": (
        Access(
            (
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations",
                "autoscaling:DescribeScalingActivities",
                "autoscaling:DescribeTags",
                "autoscaling:SetDesiredCapacity",
                "autoscaling:TerminateInstanceInAutoScalingGroup",
            ),
        ),
    ),
    "ssm": (
        Access(
            (
                "ssm:DescribeAssociation",
                "ssm:DescribeDocument",
                "ssm:GetDeployablePatchSnapshotForInstance",
                "ssm:GetDocument",
                "ssm:GetManifest",
                "ssm:GetParameter",
                "ssm:GetParameters",
                "ssm:ListAssociations",
                "ssm:ListInstanceAssociations",
                "ssm:PutComplianceItems",
                "ssm:PutConfigurePackageResult",
                "ssm:PutInventory",
                "ssm:UpdateAssociationStatus",
                "ssm:UpdateInstanceAssociationStatus",
                "ssm:UpdateInstanceInformation",
            ),
        ),
    ),
    "monitoring": (Access(("cloudwatch:GetMetricData", "cloudwatch:ListMetrics", "cloudwatch:PutMetricData")),),
}


def endpoint_policy(service: str, account: AwsAccount) -> pulumi.Output[str]:
    """The endpoint policy of ``service`` (an InterfaceEndpoint or GatewayEndpoint name)."""
    statements: list[Statement] = []
    for index, access in enumerate(ENDPOINT_ACCESS[service]):
        conditions: dict[str, dict[str, pulumi.Input[str]]] = {}
        if access.principal_in_account:
            conditions.setdefault("StringEquals", {})["aws:PrincipalAccount"] = account.id
        if access.resource_in_account:
            conditions.setdefault("StringEquals", {})["aws:ResourceAccount"] = account.id
        statements.append(
            allow(
                access.actions,
                access.resources(account),
                sid=f"{_sid(service)}{index}",
                principal="*",
                conditions=conditions or None,
            )
        )
    return document(*statements)


def _sid(service: str) -> str:
    return "".join(part.capitalize() for part in service.replace("-", ".").split("."))
