"""VPC endpoints: how nodes and workloads reach AWS APIs without the internet.

* Interface endpoints (``network.interfaceEndpoints``) put an ENI in every private subnet,
  with private DNS on, behind a security group that admits only HTTPS from the VPC.
* Gateway endpoints (``network.gatewayEndpoints``: s3, dynamodb) add routes to the private
  route tables; free, and they carry the bulk traffic (image layers, model weights).

S3 and DynamoDB have both. The gateway routes to public AWS addresses, which the
orchestrator's NetworkPolicy (TCP 443 to the private subnets only) does not allow, so the
runtime talks to their interface endpoints by endpoint-specific name
(``AwsServices.service_endpoint_urls``). Their private DNS is limited to inbound resolver
endpoints when the gateway exists, which keeps every other in-VPC S3/DynamoDB request on
the free gateway (AWS requires the gateway to exist first). See docs/aws.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.account import AwsAccount
from components.aws.endpoint_policies import endpoint_policy
from components.aws.names import cluster_name
from components.aws_tags import aws_tags
from components.config_loader import LoadedConfig

HTTPS = 443
# Services with both endpoint types, whose interface endpoint the runtime addresses by name.
DUAL_ENDPOINT_SERVICES = ("s3", "dynamodb")


@dataclass(frozen=True)
class VpcEndpointsArgs:
    loaded: LoadedConfig
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
        loaded = args.loaded
        network = loaded.config.network
        assert network is not None, "profile defaults always set network on aws"
        cluster = cluster_name(loaded)
        child = pulumi.ResourceOptions(parent=self)

        self.gateway = {
            service: aws.ec2.VpcEndpoint(
                f"{name}-{service}-gateway",
                vpc_id=args.vpc_id,
                service_name=args.account.endpoint_service(service),
                vpc_endpoint_type="Gateway",
                route_table_ids=args.private_route_table_ids,
                policy=endpoint_policy(service, args.account),
                tags=aws_tags(loaded, f"{cluster}-{service}-gateway"),
                opts=child,
            )
            for service in network.gateway_endpoints or []
        }

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-interface",
            vpc_id=args.vpc_id,
            description=f"Interface VPC endpoints of {cluster}: HTTPS from inside the VPC only",
            # No egress rules: endpoint ENIs only answer; the provider removes AWS's default allow-all.
            tags=aws_tags(loaded, f"{cluster}-vpc-endpoints"),
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
            tags=aws_tags(loaded, f"{cluster}-vpc-endpoints-https"),
            opts=child,
        )

        self.interface = {}
        for service in network.interface_endpoints or []:
            gateway = self.gateway.get(service)
            dns_options = None
            depends_on: list[pulumi.Resource] = []
            if gateway is not None:
                # Only resolvers outside the VPC get the interface addresses for the regional
                # name; in-VPC traffic keeps the free gateway. AWS rejects this option unless
                # the gateway endpoint already exists, hence depends_on.
                dns_options = aws.ec2.VpcEndpointDnsOptionsArgs(private_dns_only_for_inbound_resolver_endpoint=True)
                depends_on = [gateway]
            self.interface[service] = aws.ec2.VpcEndpoint(
                f"{name}-{service}",
                vpc_id=args.vpc_id,
                service_name=args.account.endpoint_service(service),
                vpc_endpoint_type="Interface",
                subnet_ids=args.private_subnet_ids,
                security_group_ids=[self.security_group.id],
                private_dns_enabled=True,
                dns_options=dns_options,
                policy=endpoint_policy(service, args.account),
                tags=aws_tags(loaded, f"{cluster}-{service}"),
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
            )

        self.register_outputs(
            {
                "securityGroupId": self.security_group.id,
                "interfaceEndpointIds": {s: e.id for s, e in self.interface.items()},
                "gatewayEndpointIds": {s: e.id for s, e in self.gateway.items()},
            }
        )

    def service_endpoint_urls(self) -> dict[str, pulumi.Output[str]]:
        """``AWS_ENDPOINT_URL_<SERVICE>`` values for the services the runtime must reach by
        endpoint-specific name (their regional name resolves to the gateway inside the VPC)."""
        urls: dict[str, pulumi.Output[str]] = {}
        for service in DUAL_ENDPOINT_SERVICES:
            endpoint = self.interface.get(service)
            if endpoint is not None:
                urls[service] = endpoint.dns_entries.apply(lambda entries, s=service: _endpoint_url(s, entries))
        return urls


def _endpoint_url(service: str, entries: list) -> str:
    # The first entry is the regional, endpoint-specific name. S3's is a wildcard
    # (*.vpce-...s3.<region>.vpce.amazonaws.com); AWS documents "bucket." as the prefix for
    # SDK clients, which then address buckets by path under it.
    dns_name = str(entries[0]["dns_name"] if isinstance(entries[0], dict) else entries[0].dns_name)
    if dns_name.startswith("*."):
        dns_name = ("bucket." if service == "s3" else "") + dns_name[2:]
    return f"https://{dns_name}"
