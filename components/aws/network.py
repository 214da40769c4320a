"""The VPC: private subnets for nodes, and public subnets + NAT only when the profile allows egress."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws_tags import aws_tags
from components.config_loader import LoadedConfig


@dataclass(frozen=True)
class NetworkArgs:
    loaded: LoadedConfig


class Network(pulumi.ComponentResource):
    vpc: aws.ec2.Vpc
    private_subnets: list[aws.ec2.Subnet]
    public_subnets: list[aws.ec2.Subnet]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:aws:Network", name, None, opts)
        loaded = args.loaded
        network = loaded.config.network
        assert network is not None, "profile defaults always set network on aws"
        zones = network.availability_zones or []
        child = pulumi.ResourceOptions(parent=self)

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=str(network.vpc_cidr),
            enable_dns_hostnames=True,  # interface endpoints' private DNS needs both
            enable_dns_support=True,
            tags=aws_tags(loaded, f"{loaded.config.cluster.name}-vpc"),
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
                    loaded,
                    f"{loaded.config.cluster.name}-private-{zone}",
                    **{"kubernetes.io/role/internal-elb": "1"},
                ),
                opts=child,
            )
            for zone, cidr in zip(zones, network.private_subnet_cidrs or [])
        ]
        self.public_subnets = []
        nat_ids: list[pulumi.Output[str]] = []
        if network.nat_gateways != "none":
            igw = aws.ec2.InternetGateway(
                f"{name}-igw", vpc_id=self.vpc.id, tags=aws_tags(loaded, f"{loaded.config.cluster.name}-igw"), opts=child
            )
            public_rt = aws.ec2.RouteTable(
                f"{name}-public",
                vpc_id=self.vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
                tags=aws_tags(loaded, f"{loaded.config.cluster.name}-public"),
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
                    tags=aws_tags(loaded, f"{loaded.config.cluster.name}-public-{zone}"),
                    opts=child,
                )
                aws.ec2.RouteTableAssociation(
                    f"{name}-public-{zone}", subnet_id=subnet.id, route_table_id=public_rt.id, opts=child
                )
                self.public_subnets.append(subnet)
            nat_zones = zones if network.nat_gateways == "perAz" else zones[:1]
            for zone, subnet in zip(nat_zones, self.public_subnets):
                eip = aws.ec2.Eip(
                    f"{name}-nat-{zone}", domain="vpc", tags=aws_tags(loaded, f"{loaded.config.cluster.name}-nat-{zone}"), opts=child
                )
                nat = aws.ec2.NatGateway(
                    f"{name}-nat-{zone}",
                    allocation_id=eip.id,
                    subnet_id=subnet.id,
                    tags=aws_tags(loaded, f"{loaded.config.cluster.name}-nat-{zone}"),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
                nat_ids.append(nat.id)

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
                tags=aws_tags(loaded, f"{loaded.config.cluster.name}-private-{zone}"),
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{zone}", subnet_id=subnet.id, route_table_id=route_table.id, opts=child
            )

        self.register_outputs(
            {
                "vpcId": self.vpc.id,
                "privateSubnetIds": [s.id for s in self.private_subnets],
                "publicSubnetIds": [s.id for s in self.public_subnets],
            }
        )
