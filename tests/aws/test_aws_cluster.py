"""The EKS cluster as synthesized: private endpoint, envelope encryption, logs, IRSA,
node groups and the add-ons that enforce NetworkPolicies."""

from __future__ import annotations

import json

import pytest

from aws_bundle import ACCOUNT_ID, AWS_STACKS
from support import shipped, stack_document


def cluster_inputs(stack: str) -> dict:
    return shipped(stack).one("aws:eks/cluster:Cluster")["inputs"]


def test_airgap_api_endpoint_is_private_only() -> None:
    vpc = cluster_inputs("airgap")["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in vpc


def test_prod_api_endpoint_is_private_and_reached_from_the_admin_network() -> None:
    # The admin (VPN) range is set before the first deploy; see tests/aws/test_first_deploy.py.
    vpc = cluster_inputs("prod")["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is False
    assert stack_document("prod")["config"]["airlock:cluster"]["endpointPrivateAccessCidrs"] == []


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_endpoint_never_open_to_the_internet_and_nodes_in_private_subnets(stack: str) -> None:
    bundle = shipped(stack)
    vpc = bundle.one("aws:eks/cluster:Cluster")["inputs"]["vpcConfig"]
    assert "0.0.0.0/0" not in vpc.get("publicAccessCidrs", [])
    private = {s["name"] for s in bundle.of_type("aws:ec2/subnet:Subnet") if "-private-" in s["name"]}
    assert len(vpc["subnetIds"]) == len(private) > 0
    for group in bundle.of_type("aws:eks/nodeGroup:NodeGroup"):
        assert group["inputs"]["subnetIds"] == vpc["subnetIds"], group["name"]


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_secrets_are_envelope_encrypted_with_a_customer_key(stack: str) -> None:
    encryption = cluster_inputs(stack)["encryptionConfig"]
    assert encryption["resources"] == ["secrets"]
    assert encryption["provider"]["keyArn"].startswith(f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/")


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_control_plane_logs_go_to_an_encrypted_group_with_retention(stack: str) -> None:
    bundle = shipped(stack)
    cluster = bundle.one("aws:eks/cluster:Cluster")["inputs"]
    assert {"api", "audit", "authenticator"} <= set(cluster["enabledClusterLogTypes"])
    groups = {g["inputs"]["name"]: g["inputs"] for g in bundle.of_type("aws:cloudwatch/logGroup:LogGroup")}
    group = groups[f"/aws/eks/{cluster['name']}/cluster"]  # the name EKS writes to
    assert group["retentionInDays"] == 365  # cluster.logRetentionDays default
    assert group["kmsKeyId"].startswith("arn:aws:kms:")


def test_prod_ships_every_log_type_it_asks_for() -> None:
    wanted = stack_document("prod")["config"]["airlock:cluster"]["logTypes"]
    assert cluster_inputs("prod")["enabledClusterLogTypes"] == wanted


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_access_is_api_authenticated_and_irsa_is_wired(stack: str) -> None:
    bundle = shipped(stack)
    cluster = bundle.one("aws:eks/cluster:Cluster")["inputs"]
    assert cluster["accessConfig"]["authenticationMode"] == "API"
    provider = bundle.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")["inputs"]
    assert provider["url"].startswith("https://oidc.eks.us-east-1.amazonaws.com/id/")
    assert provider["clientIdLists"] == ["sts.amazonaws.com"]
    assert bundle.outputs["oidcProviderArn"].endswith(provider["url"].removeprefix("https://"))


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_vpc_cni_enforces_network_policies(stack: str) -> None:
    bundle = shipped(stack)
    addons = {a["inputs"]["addonName"]: a["inputs"] for a in bundle.of_type("aws:eks/addon:Addon")}
    assert {"vpc-cni", "kube-proxy", "coredns"} <= set(addons)
    assert json.loads(addons["vpc-cni"]["configurationValues"])["enableNetworkPolicy"] == "true"
    # The CNI's EC2 permissions are on its own IRSA role, not on every node.
    assert addons["vpc-cni"]["serviceAccountRoleArn"].endswith("role/airlock-" + stack + "-vpc-cni")
    # No unmanaged copies that would ignore this configuration.
    assert bundle.one("aws:eks/cluster:Cluster")["inputs"]["bootstrapSelfManagedAddons"] is False


def test_system_node_group_follows_system_pool() -> None:
    bundle = shipped("prod")
    system = bundle.one("aws:eks/nodeGroup:NodeGroup", "cluster-system")["inputs"]
    pool = stack_document("prod")["config"]["airlock:systemPool"]
    assert system["instanceTypes"] == pool["instanceTypes"]
    assert system["scalingConfig"] == {"minSize": 3, "desiredSize": 3, "maxSize": 6}
    assert system["launchTemplate"]["id"].startswith("lt-")


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_node_role_has_no_inline_permissions(stack: str) -> None:
    bundle = shipped(stack)
    assert all(p["inputs"]["role"] != f"airlock-{stack}-nodes" for p in bundle.of_type("aws:iam/rolePolicy:RolePolicy"))
    attached = sorted(
        a["inputs"]["policyArn"].rsplit("/", 1)[-1]
        for a in bundle.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a["inputs"]["role"] == f"airlock-{stack}-nodes"
    )
    assert attached == ["AmazonEC2ContainerRegistryPullOnly", "AmazonEKSWorkerNodePolicy"]


def test_model_caches_get_an_encrypted_default_storage_class() -> None:
    bundle = shipped("prod")
    (storage_class,) = bundle.kinds("StorageClass")
    assert storage_class["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert storage_class["provisioner"] == "ebs.csi.aws.com"
    assert storage_class["parameters"] == {"type": "gp3", "encrypted": "true"}
    addons = {a["inputs"]["addonName"] for a in bundle.of_type("aws:eks/addon:Addon")}
    assert "aws-ebs-csi-driver" in addons
