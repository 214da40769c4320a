"""The profile is one switch: the same stack, hybrid, then airgapped, loses every internet path."""

from __future__ import annotations

import pytest

from support import Synthesized, make_project, set_key, stack_document, synthesize

# Keys the profile decides; the stack under test must leave them to the profile.
PROFILE_DRIVEN = ("natGateways", "publicSubnetCidrs", "interfaceEndpoints", "gatewayEndpoints")


@pytest.fixture(scope="module")
def switched(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synthesized]:
    """One airgap-compatible stack (no cloud models, S3 weights, images by digest) whose
    network keys are all profile defaults, synthesized as hybrid and as airgapped."""
    base = stack_document("airgap")
    network = base["config"]["airlock:network"]
    assert not set(PROFILE_DRIVEN) & set(network), "the stack must leave profile-driven keys unset"
    hybrid = set_key(stack_document("airgap"), "profile", "hybrid")
    root = tmp_path_factory.mktemp("profile-switch")
    project = make_project(root, {"switch-hybrid": hybrid, "switch-airgapped": base})
    return {
        profile: synthesize(project, f"switch-{profile}", root / profile) for profile in ("hybrid", "airgapped")
    }


def internet_paths(bundle: Synthesized) -> dict[str, list[str]]:
    """Everything that could carry traffic between the VPC and the internet."""
    routes = [
        f"{table['name']} -> {route.get('gatewayId') or route.get('natGatewayId')}"
        for table in bundle.of_type("aws:ec2/routeTable:RouteTable")
        for route in table["inputs"].get("routes", [])
        if route.get("cidrBlock") == "0.0.0.0/0" or route.get("ipv6CidrBlock") == "::/0"
    ]
    routes += [r["name"] for r in bundle.of_type("aws:ec2/route:Route") if r["inputs"].get("destinationCidrBlock") == "0.0.0.0/0"]
    public_subnets = [
        s["name"]
        for s in bundle.of_type("aws:ec2/subnet:Subnet")
        if s["inputs"].get("mapPublicIpOnLaunch") or "kubernetes.io/role/internal-elb" not in s["inputs"]["tags"]
    ]
    return {
        "internet gateways": [r["name"] for r in bundle.of_type("aws:ec2/internetGateway:InternetGateway")],
        "NAT gateways": [r["name"] for r in bundle.of_type("aws:ec2/natGateway:NatGateway")],
        "elastic IPs": [r["name"] for r in bundle.of_type("aws:ec2/eip:Eip")],
        "routes to 0.0.0.0/0": routes,
        "public subnets": public_subnets,
    }


def test_hybrid_stack_has_internet_paths(switched: dict[str, Synthesized]) -> None:
    paths = internet_paths(switched["hybrid"])
    zones = 3
    assert len(paths["internet gateways"]) == 1
    assert len(paths["NAT gateways"]) == len(paths["elastic IPs"]) == zones  # perAz by profile default
    assert len(paths["routes to 0.0.0.0/0"]) == zones + 1  # each private table to its NAT, the public one to the IGW
    assert len(paths["public subnets"]) == zones


def test_same_stack_airgapped_has_no_path_to_the_internet(switched: dict[str, Synthesized]) -> None:
    assert internet_paths(switched["airgapped"]) == {
        "internet gateways": [],
        "NAT gateways": [],
        "elastic IPs": [],
        "routes to 0.0.0.0/0": [],
        "public subnets": [],
    }


def test_airgapped_switch_still_reaches_aws_privately(switched: dict[str, Synthesized]) -> None:
    prefix = "com.amazonaws.us-east-1."
    endpoints = {e["inputs"]["serviceName"].removeprefix(prefix) for e in switched["airgapped"].of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert {"ecr.api", "ecr.dkr", "s3", "sts", "kms", "logs", "ec2", "secretsmanager"} <= endpoints
