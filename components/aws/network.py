"""The VPC: private subnets for nodes, and public subnets + NAT only when the profile allows egress.

Also what every VPC gets: flow logs of all traffic to an encrypted log group, the default
security group stripped of its rules, and the VPC endpoints (components/aws/endpoints.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.account import AwsAccount
from components.aws.endpoints import VpcEndpoints, VpcEndpointsArgs
from components.aws.log_groups import encrypted_log_group
from components.aws.names import IAM_ROLE_MAX, flow_log_group, scoped
from components.aws.policy import allow, document, service_trust
from components.aws.tags import aws_tags
from components.aws.stack import AwsStack
from components.config.schema import NetworkConfig

# Seconds over which flow records are aggregated; 60 (not the default 600) so an
# investigation sees connections within a minute.
FLOW_LOG_AGGREGATION_SECONDS = 60


@dataclass(frozen=True)
class NetworkArgs:
    stack: AwsStack
    network: NetworkConfig
    account: AwsAccount
    # KMS key of the flow log group (its policy must admit CloudWatch Logs for that group).
    logs_key_arn: pulumi.Input[str]


class Network(pulumi.ComponentResource):
    vpc: aws.ec2.Vpc
    private_subnets: list[aws.ec2.Subnet]
    public_subnets: list[aws.ec2.Subnet]
    private_route_tables: list[aws.ec2.RouteTable]
    endpoints: VpcEndpoints
    flow_log: aws.ec2.FlowLog

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:aws:Network", name, None, opts)
        stack = args.stack
        network = args.network
        zones = network.availability_zones or []
        child = pulumi.ResourceOptions(parent=self)

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=str(network.vpc_cidr),
            enable_dns_hostnames=True,  # interface endpoints' private DNS needs both
            enable_dns_support=True,
            tags=aws_tags(stack, f"{stack.cluster_name}-vpc"),
            opts=child,
        )

        self.private_subnets = [
            aws.ec2.Subnet(
                f"{name}-private-{zone}",
                vpc_id=self.vpc.id,
                cidr_block=str(cidr),
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags=aws_tags(
                    stack,
                    f"{stack.cluster_name}-private-{zone}",
                    **{"kubernetes.io/role/internal-elb": "1"},
                ),
                opts=child,
            )
            for zone, cidr in zip(zones, network.private_subnet_cidrs or [])
        ]
        # AWS gives every VPC a default security group that admits all traffic among its
        # members; adopt it with no rules so nothing can use it by accident (CKV2_AWS_12).
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=self.vpc.id,
            ingress=[],
            egress=[],
            tags=aws_tags(stack, f"{stack.cluster_name}-default-unused"),
            opts=child,
        )
        self.flow_log = self._flow_logs(name, args)

        self.public_subnets = []
        nat_ids: list[pulumi.Output[str]] = []
        if network.nat_gateways != "none":
            igw = aws.ec2.InternetGateway(
                f"{name}-igw", vpc_id=self.vpc.id, tags=aws_tags(stack, f"{stack.cluster_name}-igw"), opts=child
            )
            public_rt = aws.ec2.RouteTable(
                f"{name}-public",
                vpc_id=self.vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
                tags=aws_tags(stack, f"{stack.cluster_name}-public"),
                opts=child,
            )
            for zone, cidr in zip(zones, network.public_subnet_cidrs or []):
                subnet = aws.ec2.Subnet(
                    f"{name}-public-{zone}",
                    vpc_id=self.vpc.id,
                    cidr_block=str(cidr),
                    availability_zone=zone,
                    # NAT gateways get Elastic IPs; nothing else lives here, so no auto public IPs.
                    map_public_ip_on_launch=False,
                    tags=aws_tags(stack, f"{stack.cluster_name}-public-{zone}"),
                    opts=child,
                )
                aws.ec2.RouteTableAssociation(
                    f"{name}-public-{zone}", subnet_id=subnet.id, route_table_id=public_rt.id, opts=child
                )
                self.public_subnets.append(subnet)
            nat_zones = zones if network.nat_gateways == "perAz" else zones[:1]
            for zone, subnet in zip(nat_zones, self.public_subnets):
                eip = aws.ec2.Eip(
                    f"{name}-nat-{zone}", domain="vpc", tags=aws_tags(stack, f"{stack.cluster_name}-nat-{zone}"), opts=child
                )
                nat = aws.ec2.NatGateway(
                    f"{name}-nat-{zone}",
                    allocation_id=eip.id,
                    subnet_id=subnet.id,
                    tags=aws_tags(stack, f"{stack.cluster_name}-nat-{zone}"),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
                nat_ids.append(nat.id)

        self.private_route_tables = []
        for index, (zone, subnet) in enumerate(zip(zones, self.private_subnets)):
            routes = []
            if nat_ids:
                # perAz: each zone egresses through its own NAT; single: all through the first.
                nat_id = nat_ids[index] if len(nat_ids) > index else nat_ids[0]
                routes = [aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat_id)]
            route_table = aws.ec2.RouteTable(
                f"{name}-private-{zone}",
                vpc_id=self.vpc.id,
                routes=routes,
                tags=aws_tags(stack, f"{stack.cluster_name}-private-{zone}"),
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{zone}", subnet_id=subnet.id, route_table_id=route_table.id, opts=child
            )
            self.private_route_tables.append(route_table)

        self.endpoints = VpcEndpoints(
            f"{name}-endpoints",
            VpcEndpointsArgs(
                stack=stack,
                network=network,
                account=args.account,
                vpc_id=self.vpc.id,
                vpc_cidr=str(network.vpc_cidr),
                private_subnet_ids=[s.id for s in self.private_subnets],
                private_route_table_ids=[rt.id for rt in self.private_route_tables],
            ),
            child,
        )

        self.register_outputs(
            {
                "vpcId": self.vpc.id,
                "privateSubnetIds": [s.id for s in self.private_subnets],
                "publicSubnetIds": [s.id for s in self.public_subnets],
                "flowLogId": self.flow_log.id,
            }
        )

    def _flow_logs(self, name: str, args: NetworkArgs) -> aws.ec2.FlowLog:
        """Every accepted and rejected flow of the VPC, kept for flowLogs.retentionDays."""
        stack, account = args.stack, args.account
        network = args.network
        child = pulumi.ResourceOptions(parent=self)
        group = encrypted_log_group(
            f"{name}-flow-logs",
            stack,
            flow_log_group(stack),
            network.flow_logs.retention_days,
            args.logs_key_arn,
            child,
        )
        role = aws.iam.Role(
            f"{name}-flow-logs",
            name=scoped(stack, "flow-logs", IAM_ROLE_MAX),
            description="VPC flow logs delivery to CloudWatch Logs",
            # Only the flow-log service acting for this account's flow logs (confused-deputy guard).
            assume_role_policy=service_trust(
                "vpc-flow-logs.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": account.id},
                    "ArnLike": {"aws:SourceArn": account.arn("ec2", "vpc-flow-log/*")},
                },
            ),
            tags=aws_tags(stack, scoped(stack, "flow-logs", IAM_ROLE_MAX)),
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=role.name,
            policy=document(
                allow(
                    ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                    [group.arn, pulumi.Output.concat(group.arn, ":*")],
                    sid="WriteFlowLogs",
                ),
                # The service checks that its destination exists; DescribeLogGroups is an
                # account-level list action, scoped here to this account's log groups.
                allow(["logs:DescribeLogGroups"], [account.arn("logs", "log-group:*")], sid="FindLogGroup"),
            ),
            opts=child,
        )
        return aws.ec2.FlowLog(
            f"{name}-flow-logs",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=FLOW_LOG_AGGREGATION_SECONDS,
            tags=aws_tags(stack, f"{stack.cluster_name}-flow-logs"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
