"""The aws paths of the workloads, wired to the real AWS base (issue 3) in the shipped stacks.

What the AWS base creates (IRSA roles, ECR repositories, Secrets Manager entries, the work
queue, state table and audit bucket) must be exactly what the workloads reference: the
stack outputs name them, the manifests must point at the same ones.
"""

from __future__ import annotations

import json

from support import shipped, stack_document
from workload_manifests import containers, egress_rules, env_of, get, ip_blocks, kinds, pod_spec

REGION = "us-east-1"


def test_service_accounts_assume_the_roles_the_aws_base_created() -> None:
    bundle = shipped("airgap")
    orchestrator = get(bundle, "ServiceAccount", "airlock-orchestrator", "orchestrator")
    assert orchestrator["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": bundle.outputs["orchestratorRoleArn"]}
    model_server = get(bundle, "ServiceAccount", "airlock-models", "model-server")
    assert model_server["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": bundle.outputs["modelServerRoleArn"]}
    for namespace in ("airlock-sbx-default", "airlock-telemetry"):  # nobody else gets a role
        for account in (m for m in kinds(bundle, "ServiceAccount") if m["metadata"]["namespace"] == namespace):
            assert not account["metadata"].get("annotations")


def test_airgapped_images_come_from_the_stacks_ecr_by_digest() -> None:
    bundle = shipped("airgap")
    repositories = {r["inputs"]["name"] for r in bundle.of_type("aws:ecr/repository:Repository")}
    # Images built here ship with an explicit "@unset" digest, which blocks deployment
    # until filled in (tests/aws/test_first_deploy.py); every other one is pinned.
    unset = {v.split("@")[0] for v in stack_document("airgap")["config"]["airlock:images"].values() if v.endswith("@unset")}
    for _, container in containers(bundle):
        image = container["image"]
        host, _, rest = image.partition("/")
        assert host == f"123456789012.dkr.ecr.{REGION}.amazonaws.com", image
        assert "@sha256:" in image or any(image.endswith("/" + u.split("/")[-1]) for u in unset), image
        assert rest.split(":")[0].split("@")[0] in repositories, image
    vllm = pod_spec(get(bundle, "Deployment", "airlock-models", "qwen3-32b"))["containers"][0]["image"]
    digest = stack_document("airgap")["config"]["airlock:images"]["vllm"].split("@")[1]
    assert vllm.endswith(f"/airlock-airgap/vllm:v0.31.0@{digest}")


def test_runtime_reads_the_stores_the_aws_base_created() -> None:
    bundle = shipped("airgap")
    env = env_of(pod_spec(get(bundle, "Deployment", "airlock-orchestrator", "orchestrator"))["containers"][0])
    assert env["AWS_REGION"] == REGION
    assert env["AIRLOCK_QUEUE_URL"] == bundle.outputs["workQueueUrl"]
    assert env["AIRLOCK_CHECKPOINT_TABLE"] == bundle.outputs["stateTableName"]
    assert env["AIRLOCK_AUDIT_BUCKET"] == bundle.outputs["auditBucketName"]
    # Secrets stay in Secrets Manager: the pod holds only a name -> ARN map, as a file.
    arns = get(bundle, "ConfigMap", "airlock-orchestrator", "secret-arns")
    assert json.loads(arns["data"]["secret-arns.json"]) == {}  # the airgap stack lists no secrets
    assert env["AIRLOCK_SECRET_ARNS_FILE"] == "/etc/airlock/secret-arns/secret-arns.json"
    assert not [s for s in kinds(bundle, "Secret") if s["metadata"]["name"] == "orchestrator-secrets"]


def test_secret_arns_map_every_configured_secret_to_its_store_entry() -> None:
    bundle = shipped("prod")
    arns = json.loads(get(bundle, "ConfigMap", "airlock-orchestrator", "secret-arns")["data"]["secret-arns.json"])
    assert arns == bundle.outputs["secretArns"]
    assert sorted(arns) == ["anthropic-api-key", "hf-token", "payments-api-key"]
    assert all(arn.startswith(f"arn:aws:secretsmanager:{REGION}:123456789012:secret:") for arn in arns.values())


def test_aws_apis_bypass_the_proxy_and_cloud_models_do_not() -> None:
    bundle = shipped("prod")
    env = env_of(pod_spec(get(bundle, "Deployment", "airlock-orchestrator", "orchestrator"))["containers"][0])
    no_proxy = env["NO_PROXY"].split(",")
    for host in (f"sts.{REGION}.amazonaws.com", f"sqs.{REGION}.amazonaws.com", f"dynamodb.{REGION}.amazonaws.com", f".s3.{REGION}.amazonaws.com"):
        assert host in no_proxy
    assert not any(h.endswith("anthropic.com") or h == ".amazonaws.com" for h in no_proxy)


def test_aws_apis_are_reached_only_inside_the_private_subnets() -> None:
    """S3 and DynamoDB included: their interface endpoints resolve inside the VPC, so no
    public range is ever admitted (the AWS base's endpoints and this policy must agree)."""
    bundle = shipped("airgap")
    private = ["10.40.0.0/18", "10.40.64.0/18", "10.40.128.0/18"]
    endpoints = {r["inputs"]["serviceName"].rsplit(".", 1)[-1] for r in bundle.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") if r["inputs"].get("vpcEndpointType") == "Interface"}
    assert {"s3", "dynamodb", "sqs", "sts", "secretsmanager", "kms", "logs"} <= endpoints
    for namespace in ("airlock-orchestrator", "airlock-models"):
        blocks = ip_blocks(egress_rules(bundle, namespace))
        assert sorted(b["cidr"] for b in blocks) == sorted(private), namespace
        for rule in egress_rules(bundle, namespace):
            if any("ipBlock" in peer for peer in rule["to"]):
                assert rule["ports"] == [{"protocol": "TCP", "port": 443}]
    # The model servers stream S3 weights in the region (IRSA supplies credentials).
    env = env_of(pod_spec(get(bundle, "Deployment", "airlock-models", "qwen3-32b"))["containers"][0])
    assert env["AWS_REGION"] == REGION
