"""The monthly cost of what a stack provisions, by resource group, from its bundle.

Resources are classified by type: priced by the hour or month (nodes, their disks, the EKS
control plane, NAT gateways, interface endpoints, KMS keys, secrets), priced by use (listed
with their unit rates, not in the total: the bundle cannot know the traffic), free of
charge of their own, or unknown. Unknown AWS types are listed as not priced, never as $0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airlock.cost.bundle_facts import BundleFacts
from airlock.cost.catalog import Catalog
from airlock.cost.errors import CostError


@dataclass(frozen=True)
class LineItem:
    group: str
    resource: str
    description: str
    monthly_usd: float
    monthly_max_usd: float
    source: str


@dataclass(frozen=True)
class UsageItem:
    group: str
    resource: str
    rate: str
    source: str | None


# Types with no charge of their own (configuration, identity, routing; their traffic or
# logs are priced where they land).
FREE_TYPES = {
    "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/routeTable:RouteTable",
    "aws:ec2/routeTableAssociation:RouteTableAssociation", "aws:ec2/route:Route",
    "aws:ec2/internetGateway:InternetGateway", "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:ec2/flowLog:FlowLog", "aws:kms/alias:Alias", "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    "aws:eks/addon:Addon", "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy", "aws:sqs/queuePolicy:QueuePolicy",
    "aws:secretsmanager/secretVersion:SecretVersion", "aws:eks/accessEntry:AccessEntry",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "aws:eks/podIdentityAssociation:PodIdentityAssociation",
}
FREE_PREFIXES = ("aws:iam/", "aws:s3/bucket")  # bucket policies, versioning, encryption, ... (not the bucket)


def _count(facts: BundleFacts, type_token: str) -> list[dict[str, Any]]:
    return facts.of_type(type_token)


def price_infrastructure(facts: BundleFacts, catalog: Catalog) -> tuple[list[LineItem], list[UsageItem], list[str]]:
    if facts.region is None:
        raise CostError(
            f"stack '{facts.stack}' is on platform {facts.platform}: the bundle holds no AWS resources to price "
            "(an existing cluster's nodes are not part of the stack); airlock cost prices aws-platform stacks"
        )
    region = facts.region
    hours = catalog.hours_per_month
    items: list[LineItem] = []
    usage: list[UsageItem] = []
    handled: set[str] = set()

    for group in facts.node_groups:
        used_by = f"node group {group.name}"
        if not group.instance_types:
            raise CostError(f"{used_by} names no instance type")
        price = catalog.instance_price(region, group.instance_type, used_by)
        other = f" (also allows {', '.join(group.instance_types[1:])})" if len(group.instance_types) > 1 else ""
        items.append(LineItem(
            "GPU nodes" if group.gpu_pool else "nodes",
            group.name,
            f"{group.desired} x {group.instance_type}{other} x ${price.usd_per_hour:g}/h x {hours:g} h (max {group.maximum})",
            group.desired * price.usd_per_hour * hours,
            group.maximum * price.usd_per_hour * hours,
            price.source,
        ))
        if group.disk_gib:
            if group.disk_type != "gp3":
                raise CostError(f"{used_by}: no price for EBS volume type '{group.disk_type}' (the catalog prices gp3)")
            ebs = catalog.service_price(region, "ebs_gp3", used_by)
            per_node = group.disk_gib * ebs.usd_per_gb_month
            items.append(LineItem(
                "node storage", group.name,
                f"{group.desired} x {group.disk_gib:g} GiB gp3 x ${ebs.usd_per_gb_month:g}/GB-month",
                group.desired * per_node, group.maximum * per_node, ebs.source,
            ))
    handled.add("aws:eks/nodeGroup:NodeGroup")

    for cluster in _count(facts, "aws:eks/cluster:Cluster"):
        price = catalog.service_price(region, "eks_cluster", f"EKS cluster {cluster['name']}")
        monthly = price.usd_per_hour * hours
        items.append(LineItem("control plane", cluster["inputs"].get("name") or cluster["name"],
                              f"EKS control plane ${price.usd_per_hour:g}/h x {hours:g} h", monthly, monthly, price.source))
    handled.add("aws:eks/cluster:Cluster")

    nats = _count(facts, "aws:ec2/natGateway:NatGateway")
    if nats:
        price = catalog.service_price(region, "nat_gateway", "NAT gateways")
        monthly = len(nats) * price.usd_per_hour * hours
        items.append(LineItem("network", "NAT gateways", f"{len(nats)} x ${price.usd_per_hour:g}/h x {hours:g} h", monthly, monthly, price.source))
        usage.append(UsageItem("network", "NAT gateways", f"${price.usd_per_gb:g} per GB processed", price.source))
    handled.add("aws:ec2/natGateway:NatGateway")

    endpoints = _count(facts, "aws:ec2/vpcEndpoint:VpcEndpoint")
    interface = [e for e in endpoints if e["inputs"].get("vpcEndpointType", "Gateway") == "Interface"]
    if interface:
        price = catalog.service_price(region, "interface_endpoint", "interface VPC endpoints")
        az_hours = sum(len(e["inputs"].get("subnetIds") or []) for e in interface)
        monthly = az_hours * price.usd_per_hour_per_az * hours
        items.append(LineItem("network", "interface endpoints",
                              f"{len(interface)} endpoints, {az_hours} endpoint-AZs x ${price.usd_per_hour_per_az:g}/h x {hours:g} h",
                              monthly, monthly, price.source))
        usage.append(UsageItem("network", "interface endpoints", f"${price.usd_per_gb:g} per GB processed", price.source))
    handled.add("aws:ec2/vpcEndpoint:VpcEndpoint")  # gateway endpoints (S3, DynamoDB) are free

    for type_token, key, label in (
        ("aws:kms/key:Key", "kms_key", "KMS keys"),
        ("aws:secretsmanager/secret:Secret", "secrets_manager_secret", "Secrets Manager secrets"),
    ):
        found = _count(facts, type_token)
        if found:
            price = catalog.service_price(region, key, label)
            monthly = len(found) * price.usd_per_month
            items.append(LineItem("security", label, f"{len(found)} x ${price.usd_per_month:g}/month", monthly, monthly, price.source))
            if getattr(price, "usd_per_10k_calls", None) is not None:
                usage.append(UsageItem("security", label, f"${price.usd_per_10k_calls:g} per 10,000 API calls", price.source))
        handled.add(type_token)

    usage.extend(_usage_priced(facts, catalog, region))
    handled.update(USAGE_TYPES)
    unpriced = sorted({
        r["type"] for r in facts.resources
        if r["type"].startswith("aws:") and r["type"] not in handled and r["type"] not in FREE_TYPES
        and not r["type"].startswith(FREE_PREFIXES)
    })
    return items, usage, unpriced


USAGE_TYPES = {
    "aws:sqs/queue:Queue", "aws:dynamodb/table:Table", "aws:cloudwatch/logGroup:LogGroup",
    "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2", "aws:ecr/repository:Repository", "aws:ec2/eip:Eip",
}


def _usage_priced(facts: BundleFacts, catalog: Catalog, region: str) -> list[UsageItem]:
    prices = catalog.region(region)
    out: list[UsageItem] = []

    def names(type_token: str) -> str:
        return ", ".join(r["inputs"].get("name") or r["name"] for r in facts.of_type(type_token))

    if facts.of_type("aws:sqs/queue:Queue"):
        p = prices.sqs_standard
        out.append(UsageItem("runtime stores", f"SQS queues ({names('aws:sqs/queue:Queue')})",
                             f"${p.usd_per_million_requests:g} per million requests" if p else "no price in the catalog", p.source if p else None))
    for table in facts.of_type("aws:dynamodb/table:Table"):
        dynamo = prices.dynamodb_on_demand
        mode = table["inputs"].get("billingMode", "PROVISIONED")
        rate = (f"${dynamo.usd_per_million_writes:g} per million writes, ${dynamo.usd_per_million_reads:g} per million reads"
                if dynamo and mode == "PAY_PER_REQUEST" else f"no price in the catalog for billing mode {mode}")
        out.append(UsageItem("runtime stores", f"DynamoDB table {table['inputs'].get('name') or table['name']}", rate, dynamo.source if dynamo and mode == "PAY_PER_REQUEST" else None))
    if facts.of_type("aws:cloudwatch/logGroup:LogGroup"):
        logs = prices.cloudwatch_logs
        out.append(UsageItem("logs", f"CloudWatch log groups ({names('aws:cloudwatch/logGroup:LogGroup')})",
                             f"${logs.usd_per_gb_ingested:g} per GB ingested" if logs else "no price in the catalog", logs.source if logs else None))
    for type_token, label in (("aws:s3/bucket:Bucket", "S3 buckets"), ("aws:s3/bucketV2:BucketV2", "S3 buckets"),
                              ("aws:ecr/repository:Repository", "ECR repositories"), ("aws:ec2/eip:Eip", "Elastic IPs (public IPv4)")):
        if facts.of_type(type_token):
            out.append(UsageItem("storage and addresses", f"{label} ({len(facts.of_type(type_token))})",
                                 "no sourced price in the catalog: not included", None))
    return out
