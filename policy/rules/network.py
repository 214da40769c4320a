"""Network: flow logs, security groups, endpoint policies, the airgapped promise."""

from __future__ import annotations

from typing import Iterator

from policy.awsdocs import statements
from policy.bundle import AuditBundle
from policy.model import Problem, Resource, Violation
from policy.rules.define import resource_rule, stack_rule

OPEN = ("0.0.0.0/0", "::/0")
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
INTERNET_PATHS = ("aws:ec2/internetGateway:InternetGateway", "aws:ec2/natGateway:NatGateway", "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway")
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"


@stack_rule(
    "AIRLOCK-NET-001",
    "Every VPC has flow logs for all traffic",
    "medium",
    "Flow logs are the only record of which addresses a workload talked to; without them exfiltration goes unseen.",
    cdk_nag=("AwsSolutions-VPC7",),
    checkov=("CKV2_AWS_11",),
)
def flow_logs(bundle: AuditBundle) -> Iterator[Violation]:
    logs = bundle.of_type("aws:ec2/flowLog:FlowLog")
    covered = {log.inputs.get("vpcId") for log in logs if log.inputs.get("trafficType") == "ALL"}
    for log in logs:
        if log.inputs.get("trafficType") != "ALL":
            yield Violation(log, "trafficType", f"flow log records only {log.inputs.get('trafficType')!r} traffic (needs ALL)")
    vpcs = bundle.of_type("aws:ec2/vpc:Vpc")
    if len(covered) < len(vpcs):
        for vpc in vpcs[len(covered):] if covered else vpcs:
            yield Violation(vpc, "", "no flow log records all of this VPC's traffic")


def _open_ingress(resource: Resource) -> Iterator[Problem]:
    inputs = resource.inputs
    if resource.type == SECURITY_GROUP:
        for index, rule in enumerate(inputs.get("ingress") or []):
            for field in ("cidrBlocks", "ipv6CidrBlocks"):
                for cidr in rule.get(field) or []:
                    if cidr in OPEN:
                        yield Problem(f"ingress[{index}].{field}", f"ingress from {cidr} on ports {rule.get('fromPort')}-{rule.get('toPort')}")
    elif resource.type == INGRESS_RULE:
        for field in ("cidrIpv4", "cidrIpv6"):
            if inputs.get(field) in OPEN:
                yield Problem(field, f"ingress from {inputs[field]} on ports {inputs.get('fromPort')}-{inputs.get('toPort')}")
    elif resource.type == SG_RULE and inputs.get("type") == "ingress":
        for field in ("cidrBlocks", "ipv6CidrBlocks"):
            for cidr in inputs.get(field) or []:
                if cidr in OPEN:
                    yield Problem(field, f"ingress from {cidr} on ports {inputs.get('fromPort')}-{inputs.get('toPort')}")


resource_rule(
    "AIRLOCK-NET-002",
    "No security group admits ingress from 0.0.0.0/0 or ::/0",
    "high",
    "Nothing in an Airlock VPC serves the internet; an open ingress rule is either a mistake or a backdoor.",
    [SECURITY_GROUP, INGRESS_RULE, SG_RULE],
    cdk_nag=("AwsSolutions-EC23",),
    checkov=("CKV_AWS_24", "CKV_AWS_260"),
)(_open_ingress)


@resource_rule(
    "AIRLOCK-NET-003",
    "The VPC's default security group allows nothing",
    "low",
    "Resources launched without a security group land in the default one; it must deny everything.",
    [DEFAULT_SG],
    checkov=("CKV2_AWS_12",),
)
def default_sg_closed(resource: Resource) -> Iterator[Problem]:
    for field in ("ingress", "egress"):
        if resource.inputs.get(field):
            yield Problem(field, f"the default security group has {field} rules")


@resource_rule(
    "AIRLOCK-NET-004",
    "Every VPC endpoint has a policy that does not allow every action",
    "medium",
    "Without an endpoint policy, the endpoint lets any principal reach any account's resources of that service (a data exfiltration path).",
    [ENDPOINT],
)
def endpoint_policy(resource: Resource) -> Iterator[Problem]:
    found = list(statements(resource, "policy"))
    if not found:
        yield Problem("policy", "no endpoint policy (the default allows everything)")
    for statement in found:
        if statement.effect == "Allow" and any(a == "*" for a in statement.actions) and not statement.condition:
            yield Problem(statement.path, "endpoint policy allows every action without a condition")


@stack_rule(
    "AIRLOCK-NET-005",
    "An airgapped stack has no path to the internet",
    "high",
    "The airgapped profile promises no internet gateway, no NAT and no default route; any of them breaks the promise.",
)
def airgapped_no_internet(bundle: AuditBundle) -> Iterator[Violation]:
    if bundle.profile != "airgapped":
        return
    for resource in bundle.of_type(*INTERNET_PATHS):
        yield Violation(resource, "", f"{resource.type.split(':')[-1]} in an airgapped stack")
    for table in bundle.of_type(ROUTE_TABLE):
        for index, route in enumerate(table.inputs.get("routes") or []):
            if route.get("cidrBlock") in OPEN or route.get("ipv6CidrBlock") in OPEN:
                yield Violation(table, f"routes[{index}]", "default route in an airgapped stack")
    for route in bundle.of_type(ROUTE):
        if route.inputs.get("destinationCidrBlock") in OPEN or route.inputs.get("destinationIpv6CidrBlock") in OPEN:
            yield Violation(route, "destinationCidrBlock", "default route in an airgapped stack")


@resource_rule(
    "AIRLOCK-NET-006",
    "Subnets do not give instances public IP addresses",
    "medium",
    "Nodes and endpoints live in private subnets; a subnet that maps public IPs puts whatever lands in it on the internet.",
    ["aws:ec2/subnet:Subnet"],
    checkov=("CKV_AWS_130",),
)
def no_public_ips(resource: Resource) -> Iterator[Problem]:
    if resource.inputs.get("mapPublicIpOnLaunch") is True:
        yield Problem("mapPublicIpOnLaunch", "instances launched here get a public IP address")
