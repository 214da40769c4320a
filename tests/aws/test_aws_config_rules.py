"""Config rules the AWS base added (pure validation: no program run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.config.errors import ConfigError
from components.config.loader import LoadedConfig, load, read_stack_file
from support import make_project, set_key, stack_document


def validate(tmp_path: Path, document: dict) -> LoadedConfig:
    project = make_project(tmp_path, {"candidate": document})
    return load(read_stack_file(project, "candidate"), "candidate", project)


def issues(tmp_path: Path, document: dict) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        validate(tmp_path, document)
    return {issue.path: issue.message for issue in caught.value.issues}


def test_runtime_apis_need_interface_endpoints_in_every_profile(tmp_path: Path) -> None:
    document = set_key(
        stack_document("prod"),
        "network",
        {**stack_document("prod")["config"]["airlock:network"], "interfaceEndpoints": ["ecr.api", "ecr.dkr", "sts"]},
    )
    found = issues(tmp_path, document)
    message = found["airlock:network.interfaceEndpoints"]
    for service in ("sqs", "dynamodb", "s3", "secretsmanager", "kms", "logs"):
        assert service in message
    assert "inside the private subnets" in message


def test_airgap_needs_the_node_endpoints_too(tmp_path: Path) -> None:
    network = {**stack_document("airgap")["config"]["airlock:network"]}
    network["interfaceEndpoints"] = ["sqs", "dynamodb", "s3", "secretsmanager", "kms", "sts", "logs"]
    found = issues(tmp_path, set_key(stack_document("airgap"), "network", network))
    assert "ecr.api, ecr.dkr, ec2" in found["airlock:network.interfaceEndpoints"]


def test_private_api_access_must_be_a_private_range(tmp_path: Path) -> None:
    document = set_key(stack_document("airgap"), "cluster", {"endpointPrivateAccessCidrs": ["10.99.0.0/16", "8.8.8.0/24"]})
    found = issues(tmp_path, document)
    assert set(found) == {"airlock:cluster.endpointPrivateAccessCidrs[1]"}
    assert "RFC 1918" in found["airlock:cluster.endpointPrivateAccessCidrs[1]"]


def test_private_api_access_cidrs_open_the_api_security_group(tmp_path: Path) -> None:
    from support import synthesize

    document = set_key(stack_document("airgap"), "cluster", {"endpointPrivateAccessCidrs": ["10.99.0.0/16"]})
    project = make_project(tmp_path, {"vpn": document})
    bundle = synthesize(project, "vpn", tmp_path / "out")
    (rule,) = [r for r in bundle.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if "api-access" in r["name"]]
    assert (rule["inputs"]["cidrIpv4"], rule["inputs"]["fromPort"], rule["inputs"]["toPort"]) == ("10.99.0.0/16", 443, 443)
    assert len(bundle.one("aws:eks/cluster:Cluster")["inputs"]["vpcConfig"]["securityGroupIds"]) == 1


def test_private_api_access_is_aws_only(tmp_path: Path) -> None:
    document = stack_document("onprem")
    document["config"]["airlock:cluster"]["endpointPrivateAccessCidrs"] = ["10.0.0.0/8"]
    assert "airlock:cluster.endpointPrivateAccessCidrs" in issues(tmp_path, document)


def test_secret_values_must_be_pulumi_secrets(tmp_path: Path) -> None:
    document = stack_document("dev")
    document["config"]["airlock:secrets"][0]["value"] = "sk-ant-typed-in-plaintext"
    found = issues(tmp_path, document)
    assert "plaintext" in found["airlock:secrets[0].value"]


def test_secret_values_set_with_secret_pass(tmp_path: Path) -> None:
    document = stack_document("dev")
    document["config"]["airlock:secrets"][0]["value"] = {"secure": "v1:AAAAc2VjcmV0"}
    loaded = validate(tmp_path, document)
    assert loaded.config.secrets[0].value is not None


def test_gvisor_is_refused_on_aws_with_what_to_do(tmp_path: Path) -> None:
    pools = [{"name": "default", "isolation": "gvisor"}, {"name": "data", "isolation": "container"}]
    found = issues(tmp_path, set_key(stack_document("prod"), "sandboxes", pools))
    assert set(found) == {"airlock:sandboxes[0].isolation"}
    message = found["airlock:sandboxes[0].isolation"]
    assert "not available on platform aws" in message and "allowed: 'container'" in message
    assert "platform kubernetes" in message


def test_gvisor_stays_allowed_on_platform_kubernetes(tmp_path: Path) -> None:
    document = set_key(stack_document("onprem"), "sandboxes", [{"name": "default", "isolation": "gvisor"}])
    assert validate(tmp_path, document).config.sandboxes[0].isolation == "gvisor"


def test_a_sandbox_tool_must_name_a_pool_of_the_stack(tmp_path: Path) -> None:
    agent = (Path(__file__).resolve().parents[2] / "agents" / "onprem.yaml").read_text()
    assert "tools: []" in agent
    agent = agent.replace("tools: []", "tools:\n  - {name: run_python, kind: sandbox, language: python, pool: gpu, policy: allow}", 1)
    project = make_project(tmp_path, {"candidate": stack_document("onprem")})
    (project / "agents" / "candidate.yaml").write_text(agent)  # the stack named candidate runs agents/candidate.yaml
    with pytest.raises(ConfigError) as caught:
        load(read_stack_file(project, "candidate"), "candidate", project)
    messages = [issue.message for issue in caught.value.issues]
    assert any("tools[" in m and "'gpu': no such sandbox pool; allowed: default" in m for m in messages), messages
