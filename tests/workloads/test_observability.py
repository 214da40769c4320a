"""The OpenTelemetry collector: receivers, exporter per stack, credentials out of the config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from airlock.synth.run import validate_stack
from components.workloads.context import WorkloadContext
from components.workloads.observability import exporter_egress, headers_config
from support import PROJECT_DIR, make_project, shipped, stack_document, synthesize_decrypted
from workload_manifests import egress_rules, env_of, get, ingress_rules, pod_spec

NS = "airlock-telemetry"


def collector_config(bundle) -> dict:
    return yaml.safe_load(get(bundle, "ConfigMap", NS, "otel-collector-config")["data"]["config.yaml"])


def test_receives_otlp_grpc_and_http_with_memory_limit_and_batching() -> None:
    config = collector_config(shipped("onprem"))
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"].endswith(":4317") and protocols["http"]["endpoint"].endswith(":4318")
    for signal in ("traces", "metrics", "logs"):
        pipeline = config["service"]["pipelines"][signal]
        assert pipeline["receivers"] == ["otlp"]
        assert pipeline["processors"] == ["memory_limiter", "batch"]  # the limiter first, as the collector docs require
    assert config["exporters"] == {"debug": {"verbosity": "basic"}}  # onprem keeps the default


def test_exporter_follows_the_stack() -> None:
    bundle = shipped("prod")
    config = collector_config(bundle)
    assert config["exporters"]["otlphttp"]["endpoint"] == "https://otlp.observability.example.com:4318"
    assert "tls" not in config["exporters"]["otlphttp"]
    assert config["service"]["pipelines"]["traces"]["exporters"] == ["otlphttp"]
    (container,) = pod_spec(get(bundle, "Deployment", NS, "otel-collector"))["containers"]
    # Leaves the cluster through the proxy's telemetry port, as the only route out.
    assert env_of(container)["HTTPS_PROXY"] == "http://egress-proxy.airlock-egress.svc.cluster.local:3130"
    (dns, route) = egress_rules(bundle, NS)
    assert route["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == "airlock-egress"
    assert route["ports"] == [{"protocol": "TCP", "port": 3130}]


def test_debug_exporter_has_no_egress_at_all() -> None:
    assert egress_rules(shipped("onprem"), NS) == []


def test_only_the_orchestrator_sends_telemetry() -> None:
    (rule,) = ingress_rules(shipped("prod"), NS)
    assert [p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in rule["from"]] == ["airlock-orchestrator"]
    assert sorted(p["port"] for p in rule["ports"]) == [4317, 4318]


@pytest.mark.parametrize(
    "endpoint,expected",
    [
        ("http://tempo.tracing.svc:4318", ("namespace", "tracing", 4318)),
        ("jaeger.observability.svc.cluster.local:4317", ("namespace", "observability", 4317)),
        ("https://otel.corp.internal:4318", ("private", None, 4318)),
    ],
)
def test_exporter_route_depends_on_where_the_endpoint_lives(endpoint: str, expected: tuple) -> None:
    loaded = validate_stack(PROJECT_DIR, "onprem")  # airgapped: no proxy
    loaded.config.observability.exporter = "otlp"
    loaded.config.observability.endpoint = endpoint
    dns, route = exporter_egress(WorkloadContext.of(loaded.config, "1.31"), loaded.config.observability)
    assert dns["ports"][0]["port"] == 53
    kind, namespace, port = expected
    assert route["ports"] == [{"protocol": "TCP", "port": port}]
    if kind == "namespace":
        assert route["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}, "podSelector": {}}]
    else:  # your own network, never the internet
        assert [peer["ipBlock"]["cidr"] for peer in route["to"]] == ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]


def test_exporter_headers_come_from_a_secret_never_the_config(tmp_path: Path) -> None:
    document = stack_document("prod")
    config = document["config"]
    config["airlock:secrets"].append({"name": "otlp-headers", "value": "Authorization=Bearer%20tok-SECRET-42,x-team=agents"})
    config["airlock:observability"]["headersSecret"] = "otlp-headers"
    project = make_project(tmp_path, {"prod": document})
    # As under `pulumi up`: the engine hands the program the decrypted value, marked secret.
    bundle, _ = synthesize_decrypted(project, "prod", document, {"airlock:secrets"}, tmp_path / "bundle")
    everything = (bundle.directory / "resources.json").read_text() + "".join(
        p.read_text() for p in (bundle.directory / "manifests").rglob("*.yaml")
    )
    assert "tok-SECRET-42" not in everything
    secret = get(bundle, "Secret", NS, "otel-exporter-headers")
    assert secret["stringData"] == {"headers.yaml": "[secret]"}
    (container,) = pod_spec(get(bundle, "Deployment", NS, "otel-collector"))["containers"]
    assert container["args"] == [
        "--config=/etc/otelcol/airlock/config.yaml",
        "--config=/var/run/secrets/airlock/otel-headers/headers.yaml",
    ]
    assert "headers" not in collector_config(bundle)["exporters"]["otlphttp"]


def test_headers_fragment_is_parsed_and_never_echoed() -> None:
    fragment = yaml.safe_load(headers_config("otlphttp", "Authorization=Bearer%20abc, x-Team = agents"))
    assert fragment == {"exporters": {"otlphttp": {"headers": {"authorization": "Bearer abc", "x-team": "agents"}}}}
    with pytest.raises(ValueError) as error:
        headers_config("otlp", "just-a-token-value")
    assert "just-a-token-value" not in str(error.value) and "key=value" in str(error.value)
