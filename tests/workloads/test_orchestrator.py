"""The orchestrator's Kubernetes side: exactly its peers, the agent version, credentials as files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from airlock.synth.run import synthesize as run_synth
from support import synthesize_decrypted, PROJECT_DIR, STACKS, make_project, read_bundle, shipped, stack_document
from workload_manifests import containers, egress_rules, env_of, get, in_namespace, ingress_rules, kinds, peer_summary, pod_spec

NS = "airlock-orchestrator"


def runtime(bundle) -> dict:
    return get(bundle, "Deployment", NS, "orchestrator")


def ns_peer(namespace: str, labels: dict[str, str] | None, *ports: tuple[str, int]) -> tuple:
    return (
        (("kubernetes.io/metadata.name", namespace),),
        tuple(sorted((labels or {}).items())),
        tuple(sorted(ports)),
    )


DNS = ns_peer("kube-system", {"k8s-app": "kube-dns"}, ("TCP", 53), ("UDP", 53))
TELEMETRY = ns_peer(
    "airlock-telemetry", {"airlock.dev/role": "telemetry", "app.kubernetes.io/name": "otel-collector"}, ("TCP", 4317), ("TCP", 4318)
)
MODELS = ns_peer("airlock-models", {"airlock.dev/role": "model-server"}, ("TCP", 8000))


def executor(pool: str) -> tuple:
    return ns_peer(f"airlock-sbx-{pool}", {"airlock.dev/role": "sandbox", "app.kubernetes.io/name": "sandbox-executor"}, ("TCP", 8080))


def selects_runtime(bundle, policy: dict) -> bool:
    """Whether a NetworkPolicy applies to the runtime's pods (policies are a union over those that do)."""
    wanted = policy["spec"]["podSelector"].get("matchLabels", {})
    runtime_labels = runtime(bundle)["spec"]["template"]["metadata"]["labels"]
    return all(runtime_labels.get(k) == v for k, v in wanted.items())


def allowed_peers(bundle) -> set[tuple]:
    """Every egress peer of the runtime's pods (not of other pods in its namespace)."""
    policies = [p for p in in_namespace(bundle, NS, "NetworkPolicy") if selects_runtime(bundle, p)]
    return {peer for p in policies for rule in p["spec"].get("egress", []) for peer in peer_summary(rule)}


def test_prod_egress_is_exactly_its_peers() -> None:
    proxy = ns_peer("airlock-egress", {"airlock.dev/role": "egress-proxy", "app.kubernetes.io/name": "egress-proxy"}, ("TCP", 3128))
    # aws: the interface endpoints (STS, Secrets Manager, SQS, ...) in the private subnets.
    subnets = {("ipBlock", cidr, (), (("TCP", 443),)) for cidr in ("10.30.0.0/18", "10.30.64.0/18", "10.30.128.0/18")}
    assert allowed_peers(shipped("prod")) == {DNS, MODELS, executor("default"), executor("data"), TELEMETRY, proxy} | subnets


def test_onprem_egress_has_no_proxy_and_no_cloud_endpoints() -> None:
    # ... and its CloudNativePG instances (orchestrator.store), on the PostgreSQL port only.
    database = ns_peer(NS, {"cnpg.io/cluster": "runtime-db"}, ("TCP", 5432))
    assert allowed_peers(shipped("onprem")) == {DNS, MODELS, executor("default"), TELEMETRY, database}


@pytest.mark.parametrize("stack", STACKS)
def test_only_the_proxy_may_reach_the_internet(stack: str) -> None:
    bundle = shipped(stack)
    for policy in kinds(bundle, "NetworkPolicy"):
        for rule in policy["spec"].get("egress", []):
            for peer in rule["to"]:
                cidr = peer.get("ipBlock", {}).get("cidr", "")
                if cidr.endswith("/0"):
                    assert policy["metadata"]["namespace"] == "airlock-egress", policy["metadata"]
                    assert rule["ports"] and all(p["protocol"] == "TCP" for p in rule["ports"])


def test_ingress_only_from_explicitly_labelled_namespaces() -> None:
    assert ingress_rules(shipped("prod"), NS) == [
        {
            "from": [{"namespaceSelector": {"matchLabels": {"airlock.dev/orchestrator-client": "true"}}}],
            "ports": [{"protocol": "TCP", "port": 8080}],
        }
    ]


def _runtime_version(text: str) -> str:
    """What the runtime itself stamps on checkpoints, traces and audit records."""
    from runtime.spec import agent_version

    return agent_version(yaml.safe_load(text))


def _deployed_spec(bundle) -> str:
    maps = [m for m in in_namespace(bundle, NS, "ConfigMap") if m["metadata"]["name"].startswith("agent-spec-")]
    assert len(maps) == 1
    return maps[0]["data"]["agent.yaml"]


def test_agent_version_is_the_runtimes_stamp_on_the_pods() -> None:
    bundle = shipped("prod")
    spec_file = PROJECT_DIR / "agents" / "prod.yaml"
    version = _runtime_version(_deployed_spec(bundle))
    assert bundle.outputs["agentVersion"] == version
    template = runtime(bundle)["spec"]["template"]["metadata"]
    assert template["labels"]["airlock.dev/agent-version"] == version
    assert env_of(pod_spec(runtime(bundle))["containers"][0])["AIRLOCK_AGENT_VERSION"] == version
    spec_map = get(bundle, "ConfigMap", NS, f"agent-spec-{version}")
    assert spec_map["immutable"] is True
    # The file as written, plus the local route's context window from its model's maxModelLen.
    expected = yaml.safe_load(spec_file.read_text())
    expected["models"]["default"]["contextWindow"] = 16384
    assert yaml.safe_load(spec_map["data"]["agent.yaml"]) == expected
    volume = next(v for v in pod_spec(runtime(bundle))["volumes"] if v["name"] == "agent-spec")
    assert volume["configMap"]["name"] == spec_map["metadata"]["name"]


def test_agent_version_changes_when_the_spec_changes(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"onprem": stack_document("onprem")})
    spec = project / "agents" / "onprem.yaml"
    spec.write_text(spec.read_text().replace("maxSteps: 30", "maxSteps: 10"))
    bundle = read_bundle(run_synth(project, "onprem", tmp_path / "bundle").out_dir)
    before = shipped("onprem").outputs["agentVersion"]
    after = bundle.outputs["agentVersion"]
    deployed = _deployed_spec(bundle)
    assert after != before and after == _runtime_version(deployed)
    assert "maxSteps: 10" in deployed
    labels = runtime(bundle)["spec"]["template"]["metadata"]["labels"]
    assert labels["airlock.dev/agent-version"] == after  # a new pod template: the pods roll
    assert [m["metadata"]["name"] for m in in_namespace(bundle, NS, "ConfigMap")] == [f"agent-spec-{after}"]


def test_secrets_are_files_never_values(tmp_path: Path) -> None:
    document = stack_document("onprem")
    document["config"]["airlock:secrets"] = [
        {"name": "payments-api-key", "value": "pay-VALUE-123456"},
        {"name": "unset-key", "description": "filled out of band"},
    ]
    project = make_project(tmp_path, {"onprem": document})
    # As under `pulumi up`: the engine hands the program the decrypted value, marked secret.
    bundle, warnings = synthesize_decrypted(project, "onprem", document, {"airlock:secrets"}, tmp_path / "bundle")
    everything = (bundle.directory / "resources.json").read_text() + "".join(
        p.read_text() for p in (bundle.directory / "manifests").rglob("*.yaml")
    )
    assert "pay-VALUE-123456" not in everything
    secret = get(bundle, "Secret", NS, "orchestrator-secrets")
    assert secret["stringData"] == {"payments-api-key": "[secret]"}  # the unset entry is omitted...
    assert any("'unset-key' has no value" in w for w in warnings)  # ...with a warning
    spec = pod_spec(runtime(bundle))
    volume = next(v for v in spec["volumes"] if v.get("secret", {}).get("secretName") == "orchestrator-secrets")
    (container,) = spec["containers"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == volume["name"])
    assert mount["readOnly"] is True and env_of(container)["AIRLOCK_SECRETS_DIR"] == mount["mountPath"]
    for _, c in containers(bundle):
        for variable in c.get("env", []):
            assert "value" in variable or "secretKeyRef" in variable.get("valueFrom", {}) or "fieldRef" in variable["valueFrom"]
            if "secretKeyRef" in variable.get("valueFrom", {}):
                assert variable["name"] == "VLLM_API_KEY"  # the only secret env, a reference


def test_runtime_environment_names_its_routes_collector_and_proxy() -> None:
    env = env_of(pod_spec(runtime(shipped("prod")))["containers"][0])
    assert env["AIRLOCK_PROFILE"] == "hybrid"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector.airlock-telemetry.svc.cluster.local:4318"
    assert env["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] == "false"
    routes = json.loads(env["AIRLOCK_MODEL_ROUTES"])
    assert routes["planner"] == {
        "provider": "anthropic", "baseUrl": "https://api.anthropic.com", "model": "claude-sonnet-4-5", "apiKeySecret": "anthropic-api-key"
    }
    assert routes["llama-8b"]["provider"] == "openai"
    assert json.loads(env["AIRLOCK_SANDBOXES"]) == {
        "data": "http://sandbox-executor.airlock-sbx-data.svc.cluster.local:8080",
        "default": "http://sandbox-executor.airlock-sbx-default.svc.cluster.local:8080",
    }
    assert env["HTTPS_PROXY"] == "http://egress-proxy.airlock-egress.svc.cluster.local:3128"
    assert ".svc.cluster.local" in env["NO_PROXY"].split(",")
    onprem = env_of(pod_spec(runtime(shipped("onprem")))["containers"][0])
    assert onprem["AIRLOCK_PROFILE"] == "airgapped" and "HTTPS_PROXY" not in onprem


def test_runtime_deployment_shape() -> None:
    bundle = shipped("prod")
    deployment = runtime(bundle)
    # prod autoscales its runtime: the replicas are KEDA's, from orchestrator.replicas up.
    assert "replicas" not in deployment["spec"]
    (scaler,) = [s for s in in_namespace(bundle, NS, "ScaledObject")]
    assert scaler["spec"]["minReplicaCount"] == stack_document("prod")["config"]["airlock:orchestrator"]["replicas"]
    spec = pod_spec(deployment)
    assert spec["serviceAccountName"] == "orchestrator"
    (container,) = spec["containers"]
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http", "scheme": "HTTP"}
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert get(bundle, "Service", NS, "orchestrator")["spec"]["ports"][0]["port"] == 8080
    assert get(bundle, "PodDisruptionBudget", NS, "orchestrator")["spec"]["maxUnavailable"] == 1
