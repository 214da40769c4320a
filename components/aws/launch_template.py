"""The launch template every Airlock node group uses: IMDSv2 only, hop limit 1, encrypted gp3.

Hop limit 1 means an IMDS response cannot cross the extra network hop into a pod's
network namespace, so pods (sandboxes above all) cannot fetch the node role's
credentials; the VPC CNI and kube-proxy run on the host network and are unaffected.
No AMI: EKS picks the AMI for the node group's amiType and writes the bootstrap user
data itself; GPU pools on instance store add one NodeConfig part (RAID0 of local NVMe).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.tags import aws_tags
from components.aws.stack import AwsStack

# Bottlerocket keeps the OS on a small root volume and images, containers and the model
# cache on a second (data) volume; the AL2023 AMIs keep everything on the root volume.
BOTTLEROCKET_OS_VOLUME_GIB = 4
GP3_BASELINE_MIBPS = 125


def node_volumes(ami_type: str, disk_size_gib: int, throughput_mibps: int | None = None) -> list[aws.ec2.LaunchTemplateBlockDeviceMappingArgs]:
    def volume(device: str, size: int, throughput: int | None = None) -> aws.ec2.LaunchTemplateBlockDeviceMappingArgs:
        return aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
            device_name=device,
            ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                volume_size=size,
                volume_type="gp3",
                # Weights are written here at start: above gp3's 125 MiB/s baseline, provisioned.
                throughput=throughput if throughput and throughput > GP3_BASELINE_MIBPS else None,
                encrypted="true",  # with the account's EBS key; the autoscaling role can always use it
                delete_on_termination="true",
            ),
        )

    if ami_type.startswith("BOTTLEROCKET"):
        return [volume("/dev/xvda", BOTTLEROCKET_OS_VOLUME_GIB), volume("/dev/xvdb", disk_size_gib, throughput_mibps)]
    return [volume("/dev/xvda", disk_size_gib, throughput_mibps)]


# AL2023's nodeadm assembles the instance's NVMe instance-store disks as RAID0 and moves the
# kubelet's and containerd's directories onto it, so emptyDir volumes (the model cache)
# live on local NVMe. EKS merges this NodeConfig with the one it writes for the node group.
NVME_RAID0_USER_DATA = """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="AIRLOCK"

--AIRLOCK
Content-Type: application/node.eks.aws

apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  instance:
    localStorage:
      strategy: RAID0

--AIRLOCK--
"""


@dataclass(frozen=True)
class NodeOptions:
    """What a GPU pool adds to the common template."""

    instance_store_raid0: bool = False
    throughput_mibps: int | None = None
    capacity_reservation_id: str | None = None
    capacity_block: bool = False


def node_launch_template(
    resource_name: str,
    stack: AwsStack,
    node_name: str,
    ami_type: str,
    disk_size_gib: int,
    opts: pulumi.ResourceOptions,
    options: NodeOptions = NodeOptions(),
) -> aws.ec2.LaunchTemplate:
    tags = aws_tags(stack, node_name)
    reservation = None
    if options.capacity_reservation_id:
        reservation = aws.ec2.LaunchTemplateCapacityReservationSpecificationArgs(
            capacity_reservation_target=aws.ec2.LaunchTemplateCapacityReservationSpecificationCapacityReservationTargetArgs(
                capacity_reservation_id=options.capacity_reservation_id
            )
        )
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
        block_device_mappings=node_volumes(ami_type, disk_size_gib, options.throughput_mibps),
        user_data=base64.b64encode(NVME_RAID0_USER_DATA.encode()).decode() if options.instance_store_raid0 else None,
        capacity_reservation_specification=reservation,
        instance_market_options=(
            aws.ec2.LaunchTemplateInstanceMarketOptionsArgs(market_type="capacity-block") if options.capacity_block else None
        ),
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
