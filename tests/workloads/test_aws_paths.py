"""The aws paths of the workloads, on the mock monitor, with a hand-made AwsServices.

The shipped aws stacks carry no AwsServices until the AWS base (issue 3) fills it, so this
test runs the real platform with a subclass that hands the workloads one, exactly as the
contract (components/contracts.py) describes, and synthesizes the result like
`airlock synth` does (every manifest schema-validated).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airlock.synth.run import synthesize as run_synth
from support import make_project, read_bundle, stack_document
from workload_manifests import containers, egress_rules, env_of, get, ip_blocks, kinds, pod_spec

ACCOUNT = "123456789012"
ECR = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/airlock"
ORCHESTRATOR_ROLE = f"arn:aws:iam::{ACCOUNT}:role/airlock-orchestrator"
MODEL_SERVER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/airlock-model-server"
GATEWAY_CIDRS = ["16.15.176.0/20", "52.216.0.0/15", "3.218.180.0/22"]

MAIN = f'''
"""Test program: the real AgentPlatform, handed an AwsServices as the AWS base will."""
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from components.contracts import AwsServices
from components.platform import AgentPlatform, AgentPlatformArgs
from components.program import load_stack_config


@dataclass(frozen=True)
class AwsServicesWithGateways(AwsServices):
    # Requested from the AWS base: the S3/DynamoDB gateway endpoints' prefix-list CIDRs.
    gateway_endpoint_cidrs: Any = None


class PlatformWithAwsBase(AgentPlatform):
    def _build_aws(self, loaded):
        super()._build_aws(loaded)
        names = [s.name for s in loaded.config.secrets]
        self.aws = AwsServicesWithGateways(
            region="us-east-1",
            account_id="{ACCOUNT}",
            orchestrator_role_arn=pulumi.Output.from_input("{ORCHESTRATOR_ROLE}"),
            secret_arns={{n: f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:airlock/{{n}}-AbCdEf" for n in names}},
            registry_urls={{
                key: pulumi.Output.from_input(f"{ECR}/{{key.replace('_', '-')}}")
                for key in ("runtime", "sandbox_executor", "vllm", "otel_collector", "egress_proxy")
            }},
            queue_url="https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/airlock-work",
            checkpoint_table="airlock-checkpoints",
            audit_bucket="airlock-audit-{ACCOUNT}",
            model_server_role_arn="{MODEL_SERVER_ROLE}",
            gateway_endpoint_cidrs=pulumi.Output.from_input({GATEWAY_CIDRS!r}),
        )


loaded = load_stack_config(Path(__file__).resolve().parent)
platform = PlatformWithAwsBase("airlock", AgentPlatformArgs(loaded))
for key, value in platform.outputs.items():
    pulumi.export(key, value)
'''


def synth_with_aws(tmp_path: Path, stack: str):
    project = make_project(tmp_path, {stack: stack_document(stack)})
    (project / "__main__.py").write_text(MAIN)
    result = run_synth(project, stack, tmp_path / "bundle")
    return read_bundle(result.out_dir), result.bundle.warnings


@pytest.fixture(scope="module")
def airgap(tmp_path_factory):
    return synth_with_aws(tmp_path_factory.mktemp("airgap"), "airgap")


@pytest.fixture(scope="module")
def prod(tmp_path_factory):
    return synth_with_aws(tmp_path_factory.mktemp("prod"), "prod")


def test_service_accounts_assume_their_roles_with_irsa(airgap) -> None:
    bundle, _ = airgap
    orchestrator = get(bundle, "ServiceAccount", "airlock-orchestrator", "orchestrator")
    assert orchestrator["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": ORCHESTRATOR_ROLE}
    model_server = get(bundle, "ServiceAccount", "airlock-models", "model-server")
    assert model_server["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": MODEL_SERVER_ROLE}
    for namespace in ("airlock-sbx-default", "airlock-telemetry"):  # nobody else gets a role
        for account in (m for m in kinds(bundle, "ServiceAccount") if m["metadata"]["namespace"] == namespace):
            assert not account["metadata"].get("annotations")


def test_airgapped_images_come_from_the_stacks_ecr_by_digest(airgap) -> None:
    bundle, warnings = airgap
    images = {container["image"] for _, container in containers(bundle)}
    assert images and all(image.startswith(f"{ECR}/") and "@sha256:" in image for image in images), images
    vllm = pod_spec(get(bundle, "Deployment", "airlock-models", "qwen3-32b"))["containers"][0]["image"]
    digest = stack_document("airgap")["config"]["airlock:images"]["vllm"].split("@")[1]
    assert vllm == f"{ECR}/vllm:v0.14.0@{digest}"
    assert not [w for w in warnings if "cannot pull" in w]


def test_runtime_reads_its_stores_and_secrets_through_aws(airgap) -> None:
    bundle, _ = airgap
    spec = pod_spec(get(bundle, "Deployment", "airlock-orchestrator", "orchestrator"))
    env = env_of(spec["containers"][0])
    assert env["AWS_REGION"] == "us-east-1"
    assert env["AIRLOCK_QUEUE_URL"] == f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/airlock-work"
    assert (env["AIRLOCK_CHECKPOINT_TABLE"], env["AIRLOCK_AUDIT_BUCKET"]) == ("airlock-checkpoints", f"airlock-audit-{ACCOUNT}")
    # Secrets stay in Secrets Manager: the pod holds only a name -> ARN map, as a file.
    arns = get(bundle, "ConfigMap", "airlock-orchestrator", "secret-arns")
    assert json.loads(arns["data"]["secret-arns.json"]) == {}  # the airgap stack lists no secrets
    assert env["AIRLOCK_SECRET_ARNS_FILE"] == "/etc/airlock/secret-arns/secret-arns.json"
    assert not [s for s in kinds(bundle, "Secret") if s["metadata"]["name"] == "orchestrator-secrets"]


def test_secret_arns_map_every_configured_secret(prod) -> None:
    bundle, warnings = prod
    arns = json.loads(get(bundle, "ConfigMap", "airlock-orchestrator", "secret-arns")["data"]["secret-arns.json"])
    assert sorted(arns) == ["anthropic-api-key", "hf-token", "payments-api-key"]
    assert arns["payments-api-key"].startswith("arn:aws:secretsmanager:us-east-1:")
    assert not [w for w in warnings if "is not mounted in the orchestrator" in w]


def test_aws_apis_bypass_the_proxy_and_cloud_models_do_not(prod) -> None:
    bundle, _ = prod
    env = env_of(pod_spec(get(bundle, "Deployment", "airlock-orchestrator", "orchestrator"))["containers"][0])
    no_proxy = env["NO_PROXY"].split(",")
    for host in ("sts.us-east-1.amazonaws.com", "sqs.us-east-1.amazonaws.com", "dynamodb.us-east-1.amazonaws.com", ".s3.us-east-1.amazonaws.com"):
        assert host in no_proxy
    assert not any(h.endswith("anthropic.com") or h == ".amazonaws.com" for h in no_proxy)


def test_gateway_endpoint_ranges_open_443_for_the_runtime_and_s3_model_servers(airgap) -> None:
    bundle, _ = airgap
    private = ["10.40.0.0/18", "10.40.64.0/18", "10.40.128.0/18"]
    for namespace in ("airlock-orchestrator", "airlock-models"):
        blocks = ip_blocks(egress_rules(bundle, namespace))
        assert sorted(b["cidr"] for b in blocks) == sorted(private + GATEWAY_CIDRS), namespace
        for rule in egress_rules(bundle, namespace):
            if any("ipBlock" in peer for peer in rule["to"]):
                assert rule["ports"] == [{"protocol": "TCP", "port": 443}]
    # The model servers stream S3 weights in the region (IRSA supplies credentials).
    env = env_of(pod_spec(get(bundle, "Deployment", "airlock-models", "qwen3-32b"))["containers"][0])
    assert env["AWS_REGION"] == "us-east-1"


def test_an_image_without_an_ecr_repository_is_flagged_in_airgapped_stacks(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"airgap": stack_document("airgap")})
    (project / "__main__.py").write_text(MAIN.replace('"otel_collector", "egress_proxy"', '"egress_proxy"'))
    result = run_synth(project, "airgap", tmp_path / "bundle")
    assert any("images.otel_collector: this stack has no ECR repository" in w for w in result.bundle.warnings)


def test_without_gateway_ranges_only_the_interface_endpoints_open_and_it_says_so(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"airgap": stack_document("airgap")})
    (project / "__main__.py").write_text(MAIN.replace(f"pulumi.Output.from_input({GATEWAY_CIDRS!r})", "None"))
    result = run_synth(project, "airgap", tmp_path / "bundle")
    assert any("provides no gateway_endpoint_cidrs" in w for w in result.bundle.warnings)
    blocks = ip_blocks(egress_rules(read_bundle(result.out_dir), "airlock-orchestrator"))
    assert sorted(b["cidr"] for b in blocks) == ["10.40.0.0/18", "10.40.128.0/18", "10.40.64.0/18"]
