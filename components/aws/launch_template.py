"""The launch template every Airlock node group uses: IMDSv2 only, hop limit 1, encrypted gp3.

Hop limit 1 means an IMDS response cannot cross the extra network hop into a pod's
network namespace, so pods (sandboxes above all) cannot fetch the node role's
credentials; the VPC CNI and kube-proxy run on the host network and are unaffected.
No AMI and no user data: EKS picks the AMI for the node group's amiType and writes the
bootstrap user data itself.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.aws.tags import aws_tags
from components.aws.stack import AwsStack

# Bottlerocket keeps the OS on a small root volume and images, containers and the model
# cache on a second (data) volume; the AL2023 AMIs keep everything on the root volume.
BOTTLEROCKET_OS_VOLUME_GIB = 4


def node_volumes(ami_type: str, disk_size_gib: int) -> list[aws.ec2.LaunchTemplateBlockDeviceMappingArgs]:
    def volume(device: str, size: int) -> aws.ec2.LaunchTemplateBlockDeviceMappingArgs:
        return aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
            device_name=device,
            ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                volume_size=size,
                volume_type="gp3",
                encrypted="true",  # with the account's EBS key; the autoscaling role can always use it
                delete_on_termination="true",
            ),
        )

    if ami_type.startswith("BOTTLEROCKET"):
        return [volume("/dev/xvda", BOTTLEROCKET_OS_VOLUME_GIB), volume("/dev/xvdb", disk_size_gib)]
    return [volume("/dev/xvda", disk_size_gib)]


def node_launch_template(
    resource_name: str,
    stack: AwsStack,
    node_name: str,
    ami_type: str,
    disk_size_gib: int,
    opts: pulumi.ResourceOptions,
) -> aws.ec2.LaunchTemplate:
    tags = aws_tags(stack, node_name)
    return aws.ec2.LaunchTemplate(
        resource_name,
        description=f"{node_name}: IMDSv2 only (hop limit 1), encrypted gp3 volumes",
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled",
            http_tokens="required",
            http_put_response_hop_limit=1,
            http_protocol_ipv6="disabled",
            instance_metadata_tags="disabled",
        ),
        block_device_mappings=node_volumes(ami_type, disk_size_gib),
        tag_specifications=[
            aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=tags) for kind in ("instance", "volume")
        ],
        update_default_version=True,
        tags=tags,
        opts=opts,
    )


def launch_template_ref(template: aws.ec2.LaunchTemplate) -> aws.eks.NodeGroupLaunchTemplateArgs:
    # The numeric latest version (not "$Latest"), so a template change rolls the node group.
    return aws.eks.NodeGroupLaunchTemplateArgs(id=template.id, version=template.latest_version.apply(str))
