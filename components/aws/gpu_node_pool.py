"""A GPU node pool: one EKS managed node group on an NVIDIA AMI, per ``gpuPools`` entry.

Nodes carry the taint ``nvidia.com/gpu=true:NoSchedule`` (nothing lands on a GPU node by
accident) and the labels naming the pool and the GPU model. Both, and the tolerations
and node selector workloads must use, come from ``components.workloads.scheduling``, so the pool
and the model servers cannot drift apart; the pool exports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_aws as aws

from components.aws.launch_template import NodeOptions, launch_template_ref, node_launch_template
from components.aws.tags import aws_tags
from components.config.schema import GpuPoolConfig
from components.aws.stack import AwsStack
from components.workloads.scheduling import PoolScheduling, pool_scheduling

# Kubernetes spells taint effects NoSchedule; the EKS API NO_SCHEDULE.
EKS_TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}


def ships_device_plugin(ami_type: str) -> bool:
    """Bottlerocket's NVIDIA variants run the NVIDIA device plugin as part of the OS; the
    AL2023 NVIDIA AMIs have driver and container toolkit but need the DaemonSet."""
    return ami_type.startswith("BOTTLEROCKET")


@dataclass(frozen=True)
class GpuNodePoolArgs:
    stack: AwsStack
    pool: GpuPoolConfig
    cluster_name: pulumi.Input[str]
    node_role_arn: pulumi.Input[str]
    subnet_ids: list[pulumi.Input[str]]
    # Add-ons nodes need before they join (VPC CNI with policy enforcement, kube-proxy).
    depends_on: Sequence[pulumi.Resource] = ()
    # The availability zone of each subnet in subnet_ids (a capacity reservation picks one).
    zones: Sequence[str] = ()


class GpuNodePool(pulumi.ComponentResource):
    node_group: aws.eks.NodeGroup
    launch_template: aws.ec2.LaunchTemplate
    scheduling: PoolScheduling

    def __init__(self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:aws:GpuNodePool", name, None, opts)
        stack, pool = args.stack, args.pool
        assert pool.instance_type is not None, "config rules require instanceType on aws"
        self.scheduling = pool_scheduling(pool, "aws")
        node_name = f"{stack.cluster_name}-{pool.name}"

        reservation = pool.capacity_reservation
        options = NodeOptions(
            instance_store_raid0=pool.node_storage == "instanceStore",
            throughput_mibps=pool.disk_throughput_mibps,
            capacity_reservation_id=reservation.id if reservation else None,
            capacity_block=reservation is not None and reservation.type == "capacityBlock",
        )
        self.launch_template = node_launch_template(
            f"{name}-nodes", stack, node_name, pool.ami_type, pool.disk_size_gib, pulumi.ResourceOptions(parent=self), options
        )
        # A reservation lives in one zone: launching elsewhere would miss it.
        subnet_ids = list(args.subnet_ids)
        if reservation is not None:
            subnet_ids = [subnet_ids[list(args.zones).index(reservation.availability_zone)]]
        self.node_group = aws.eks.NodeGroup(
            name,
            cluster_name=args.cluster_name,
            node_group_name=pool.name,
            node_role_arn=args.node_role_arn,
            subnet_ids=subnet_ids,
            ami_type=pool.ami_type,
            capacity_type="CAPACITY_BLOCK" if options.capacity_block else pool.capacity_type,
            instance_types=[pool.instance_type],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=pool.min_size,
                desired_size=pool.desired_size if pool.desired_size is not None else pool.min_size,
                max_size=pool.max_size,
            ),
            # One node at a time: a GPU node holds whole model replicas.
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=launch_template_ref(self.launch_template),
            labels=self.scheduling.node_labels,
            taints=[
                aws.eks.NodeGroupTaintArgs(key=t["key"], value=t["value"], effect=EKS_TAINT_EFFECTS[t["effect"]])
                for t in self.scheduling.taints
            ],
            tags=aws_tags(stack, node_name, **{"airlock:gpu-pool": pool.name}),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=list(args.depends_on),
                # A cluster autoscaler (or KEDA-driven scaling) owns the current size.
                ignore_changes=["scalingConfig.desiredSize"],
            ),
        )
        self.register_outputs(
            {
                "nodeGroupName": self.node_group.node_group_name,
                "nodeSelector": self.scheduling.node_selector,
                "tolerations": self.scheduling.tolerations,
            }
        )

    @property
    def tolerations(self) -> list[dict[str, str]]:
        return self.scheduling.tolerations

    @property
    def node_selector(self) -> dict[str, str]:
        return self.scheduling.node_selector
