"""VPC endpoints: how nodes and workloads reach AWS APIs without the internet.

* Interface endpoints (``network.interfaceEndpoints``) put an ENI in every private subnet,
  with private DNS on, behind a security group that admits only HTTPS from the VPC.
* Gateway endpoints (``network.gatewayEndpoints``: s3, dynamodb) add routes to the private
  route tables; free, and they carry the bulk traffic (image layers, model weights).

S3 and DynamoDB have both. Pods may reach AWS only at addresses inside the private
subnets (their NetworkPolicies allow TCP 443 there and nowhere else for AWS), and a
gateway endpoint routes to public AWS addresses. So the interface endpoints of S3 and
DynamoDB get full private DNS: inside the VPC the regional names
(``s3.<region>.amazonaws.com``, ``<bucket>.s3...``, ``dynamodb.<region>...``) resolve to
the interface endpoint, for pods and nodes alike. The gateway endpoints stay as the
route for whatever still addresses the services' public ranges (the legacy global S3
name) and as a free fallback. Each interface endpoint is created before its gateway:
when a gateway already exists, AWS defaults a new interface endpoint's private DNS to
"inbound resolvers only", which would send in-VPC traffic back to the gateway.
See docs/aws.md ("How pods reach AWS").
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.account import AwsAccount
from components.aws.endpoint_policies import endpoint_policy
from components.aws.tags import aws_tags
from components.aws.stack import AwsStack
from components.config.schema import NetworkConfig

HTTPS = 443


@dataclass(frozen=True)
class VpcEndpointsArgs:
    stack: AwsStack
    network: NetworkConfig
    account: AwsAccount
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    private_subnet_ids: list[pulumi.Input[str]]
    private_route_table_ids: list[pulumi.Input[str]]


class VpcEndpoints(pulumi.ComponentResource):
    security_group: aws.ec2.SecurityGroup
    interface: dict[str, aws.ec2.VpcEndpoint]
    gateway: dict[str, aws.ec2.VpcEndpoint]

    def __init__(self, name: str, args: VpcEndpointsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:aws:VpcEndpoints", name, None, opts)
        stack = args.stack
        network = args.network
        cluster = stack.cluster_name
        child = pulumi.ResourceOptions(parent=self)

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-interface",
            vpc_id=args.vpc_id,
            description=f"Interface VPC endpoints of {cluster}: HTTPS from inside the VPC only",
            # No egress rules: endpoint ENIs only answer; the provider removes AWS's default allow-all.
            tags=aws_tags(stack, f"{cluster}-vpc-endpoints"),
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-interface-https",
            security_group_id=self.security_group.id,
            description="HTTPS to AWS APIs from nodes and pods in the VPC",
            cidr_ipv4=args.vpc_cidr,
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            tags=aws_tags(stack, f"{cluster}-vpc-endpoints-https"),
            opts=child,
        )

        self.interface = {
            service: aws.ec2.VpcEndpoint(
                f"{name}-{service}",
                vpc_id=args.vpc_id,
                service_name=args.account.endpoint_service(service),
                vpc_endpoint_type="Interface",
                subnet_ids=args.private_subnet_ids,
                security_group_ids=[self.security_group.id],
                private_dns_enabled=True,
                # Every resolver in the VPC gets the interface addresses (see the module docstring).
                dns_options=aws.ec2.VpcEndpointDnsOptionsArgs(private_dns_only_for_inbound_resolver_endpoint=False)
                if service in (network.gateway_endpoints or [])
                else None,
                policy=endpoint_policy(service, args.account),
                tags=aws_tags(stack, f"{cluster}-{service}"),
                opts=child,
            )
            for service in network.interface_endpoints or []
        }
        self.gateway = {
            service: aws.ec2.VpcEndpoint(
                f"{name}-{service}-gateway",
                vpc_id=args.vpc_id,
                service_name=args.account.endpoint_service(service),
                vpc_endpoint_type="Gateway",
                route_table_ids=args.private_route_table_ids,
                policy=endpoint_policy(service, args.account),
                tags=aws_tags(stack, f"{cluster}-{service}-gateway"),
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[self.interface[service]] if service in self.interface else []
                ),
            )
            for service in network.gateway_endpoints or []
        }

        self.register_outputs(
            {
                "securityGroupId": self.security_group.id,
                "interfaceEndpointIds": {s: e.id for s, e in self.interface.items()},
                "gatewayEndpointIds": {s: e.id for s, e in self.gateway.items()},
            }
        )
