"""The VPC as synthesized: internet paths per profile, endpoints and their policies,
security groups, flow logs."""

from __future__ import annotations

import json

import pytest

from aws_bundle import ACCOUNT_ID, AWS_STACKS, as_list, gateway_endpoints, interface_endpoints
from support import shipped, stack_document

AIRGAP_INTERFACE_ENDPOINTS = {"ecr.api", "ecr.dkr", "sts", "secretsmanager", "kms", "logs", "ec2"}
RUNTIME_APIS = {"sqs", "dynamodb", "s3", "secretsmanager", "kms", "sts", "logs"}
INTERNET_TYPES = (
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/eip:Eip",
)


def test_airgap_has_no_internet_or_nat_gateway() -> None:
    bundle = shipped("airgap")
    for type_token in INTERNET_TYPES:
        assert bundle.of_type(type_token) == [], type_token
    for table in bundle.of_type("aws:ec2/routeTable:RouteTable"):
        assert all(route.get("cidrBlock") != "0.0.0.0/0" for route in table["inputs"].get("routes", [])), table["name"]


@pytest.mark.parametrize("stack, nat_gateways", [("prod", 3), ("staging", 1), ("dev", 1)])
def test_cloud_and_hybrid_egress_through_nat(stack: str, nat_gateways: int) -> None:
    bundle = shipped(stack)
    assert len(bundle.of_type("aws:ec2/natGateway:NatGateway")) == nat_gateways
    assert len(bundle.of_type("aws:ec2/internetGateway:InternetGateway")) == 1


def test_airgap_has_the_seven_interface_endpoints_and_s3_gateway_each_with_a_policy() -> None:
    bundle = shipped("airgap")
    interface, gateway = interface_endpoints(bundle), gateway_endpoints(bundle)
    assert AIRGAP_INTERFACE_ENDPOINTS <= set(interface)
    assert "s3" in gateway
    zones = len(stack_document("airgap")["config"]["airlock:network"]["availabilityZones"])
    for service, endpoint in {**interface, **{f"{s} (gateway)": e for s, e in gateway.items()}}.items():
        policy = json.loads(endpoint["inputs"]["policy"])
        assert policy["Statement"], service
    for service, endpoint in interface.items():
        assert endpoint["inputs"]["privateDnsEnabled"] is True, service
        assert len(endpoint["inputs"]["subnetIds"]) == zones, service
        assert len(endpoint["inputs"]["securityGroupIds"]) == 1, service


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_every_api_the_runtime_calls_has_an_interface_endpoint(stack: str) -> None:
    # The orchestrator's NetworkPolicy allows AWS only at addresses in the private subnets.
    assert RUNTIME_APIS <= set(interface_endpoints(shipped(stack)))


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_s3_and_dynamodb_resolve_to_their_interface_endpoints_inside_the_vpc(stack: str) -> None:
    # With the gateway present AWS would default to "inbound resolvers only", sending pods
    # to public S3/DynamoDB addresses their NetworkPolicies do not allow.
    interface = interface_endpoints(shipped(stack))
    for service in ("s3", "dynamodb"):
        assert interface[service]["inputs"]["privateDnsEnabled"] is True
        assert interface[service]["inputs"]["dnsOptions"] == {"privateDnsOnlyForInboundResolverEndpoint": False}


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_endpoint_policies_are_scoped_to_this_account(stack: str) -> None:
    endpoints = shipped(stack).of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoints
    for endpoint in endpoints:
        for statement in json.loads(endpoint["inputs"]["policy"])["Statement"]:
            assert statement["Effect"] == "Allow"
            condition = statement.get("Condition", {}).get("StringEquals", {})
            resources = as_list(statement["Resource"])
            by_principal = condition.get("aws:PrincipalAccount") == ACCOUNT_ID
            by_resource = all(f":{ACCOUNT_ID}:" in r for r in resources)
            # The one exception: reading ECR's layer bucket (AWS-owned, presigned by ECR).
            ecr_layers = statement["Action"] == ["s3:GetObject"] and resources == [STARPORT_LAYERS]
            assert by_principal or by_resource or ecr_layers, (endpoint["name"], statement)


STARPORT_LAYERS = "arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*"


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_s3_endpoint_policy_keeps_requests_inside_the_account_except_ecr_layers(stack: str) -> None:
    bundle = shipped(stack)
    for endpoint in (interface_endpoints(bundle)["s3"], gateway_endpoints(bundle)["s3"]):
        statements = json.loads(endpoint["inputs"]["policy"])["Statement"]
        general = [s for s in statements if "s3:PutObject" in s["Action"]]
        assert len(general) == 1
        assert general[0]["Condition"]["StringEquals"]["aws:ResourceAccount"] == ACCOUNT_ID
        layers = [s for s in statements if s not in general]
        assert [s["Resource"] for s in layers] == [[STARPORT_LAYERS]]
        assert layers[0]["Action"] == ["s3:GetObject"]
        # ECR presigns layer URLs with its own credentials: a principal condition would
        # refuse every uncached pull through the endpoint (AWS's own example has none).
        assert "Condition" not in layers[0], layers[0]


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_no_security_group_admits_the_internet(stack: str) -> None:
    bundle = shipped(stack)
    open_world = {"0.0.0.0/0", "::/0"}
    rules = bundle.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    for rule in rules:
        assert rule["inputs"].get("cidrIpv4") not in open_world and rule["inputs"].get("cidrIpv6") not in open_world
    for group in bundle.of_type("aws:ec2/securityGroup:SecurityGroup"):
        for ingress in group["inputs"].get("ingress", []):
            assert not open_world & set(ingress.get("cidrBlocks", []) + ingress.get("ipv6CidrBlocks", [])), group["name"]
    default = bundle.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default["inputs"].get("ingress", []) == [] and default["inputs"].get("egress", []) == []


def test_endpoint_security_group_admits_https_from_the_vpc_only() -> None:
    bundle = shipped("airgap")
    vpc_cidr = bundle.one("aws:ec2/vpc:Vpc")["inputs"]["cidrBlock"]
    rules = [r for r in bundle.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if "interface" in r["name"]]
    assert [(r["inputs"]["cidrIpv4"], r["inputs"]["fromPort"], r["inputs"]["toPort"]) for r in rules] == [(vpc_cidr, 443, 443)]


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_flow_logs_capture_all_traffic_into_an_encrypted_log_group(stack: str) -> None:
    bundle = shipped(stack)
    flow_log = bundle.one("aws:ec2/flowLog:FlowLog")["inputs"]
    assert flow_log["trafficType"] == "ALL"
    assert flow_log["iamRoleArn"].startswith(f"arn:aws:iam::{ACCOUNT_ID}:role/")
    groups = {g["inputs"]["name"]: g["inputs"] for g in bundle.of_type("aws:cloudwatch/logGroup:LogGroup")}
    group = groups[f"/aws/vpc/airlock-{stack}/flow-logs"]
    assert flow_log["logDestination"].endswith(f":log-group:/aws/vpc/airlock-{stack}/flow-logs")
    assert group["retentionInDays"] == 90  # flowLogs.retentionDays default
    assert group["kmsKeyId"].startswith("arn:aws:kms:")
