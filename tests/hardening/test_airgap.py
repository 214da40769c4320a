"""Findings 5-7 and the link-local cloud URL of 14: hosts are judged by the address they
resolve to, with one function shared by the runtime and the stack config rules."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

from components.config.errors import ConfigError
from components.config.loader import flatten, load
from runtime import hosts
from runtime.addresses import host_class, normalize_network, parse_ip
from runtime.errors import BadInput
from runtime.outbound import check_outbound_environment
from runtime.spec import SpecError, parse_spec
from support import PROJECT_DIR, stack_document

NUMERIC_FORMS = [
    "134744072", "0x08080808", "0x8.0x8.0x8.0x8", "010.010.010.010", "8.8.2056", "8.526344",
    "2130706433", "0x7f000001", "0177.0.0.1", "127.1", "169.254.43518", "0xa9fea9fe",
    "::ffff:8.8.8.8", "::ffff:127.0.0.1", "64:ff9b::808:808", "fe80::1",
]


@pytest.mark.parametrize("host", NUMERIC_FORMS)
def test_hosts_parse_as_the_resolver_parses_them(host: str) -> None:
    """Our parse gives the very address getaddrinfo gives (numeric only: no lookup)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    resolved = socket.getaddrinfo(host, 80, family, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)[0][4][0]
    assert parse_ip(host) == ipaddress.ip_address(resolved)


@pytest.mark.parametrize("host", ["vllm", "vllm.airlock-models.svc", "api.anthropic.com", "09", "0x", "1.2.3.4.5", "256.0.0.1"])
def test_names_stay_names(host: str) -> None:
    assert parse_ip(host) is None
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo(host, 80, 0, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)


AIRGAPPED_SPEC = """\
name: a
instructions: x
models:
  default: {{provider: openai, baseUrl: "{url}", model: m, prices: {{input: 0, output: 0}}}}
"""


@pytest.mark.parametrize(
    "url", ["http://134744072:80/v1", "http://0x08080808/v1", "http://[::ffff:8.8.8.8]/v1", "http://[64:ff9b::808:808]/v1", "http://010.010.010.010/v1"]
)
def test_airgapped_spec_refuses_numeric_spellings_of_public_addresses(url: str) -> None:
    with pytest.raises(SpecError, match="outside the cluster"):
        parse_spec(AIRGAPPED_SPEC.format(url=url), source="a.yaml", base_dir=Path("."), profile="airgapped")


@pytest.mark.parametrize("url", ["http://2130706433:8000/v1", "http://[::ffff:127.0.0.1]:8000/v1", "http://vllm:8000/v1"])
def test_airgapped_spec_accepts_what_really_is_loopback_or_a_service(url: str) -> None:
    parse_spec(AIRGAPPED_SPEC.format(url=url), source="a.yaml", base_dir=Path("."), profile="airgapped")
    assert hosts.is_local_or_cluster(url)


@pytest.mark.parametrize(
    "variable, value",
    [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://otlp.example.com:4318"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://0x08080808:4318/v1/traces"),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://[::ffff:8.8.8.8]:4318"),
        ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "collector.example.com:4317"),
        ("HTTPS_PROXY", "http://proxy.example.com:3128"),
        ("http_proxy", "http://134744072:3128"),
    ],
)
def test_airgapped_runtime_checks_every_outbound_variable(variable: str, value: str) -> None:
    with pytest.raises(BadInput, match=variable):
        check_outbound_environment("airgapped", {variable: value})
    check_outbound_environment("hybrid", {variable: value})  # only the airgapped promise forbids it
    check_outbound_environment("airgapped", {variable: "http://otel-collector.airlock-telemetry.svc:4318"})


def test_airgapped_run_with_an_external_collector_exits_2_before_any_request(tmp_path: Path) -> None:
    from support import run_cli

    spec = tmp_path / "agent.yaml"
    spec.write_text(AIRGAPPED_SPEC.format(url="http://127.0.0.1:9/v1"))
    result = run_cli(
        "run", "--agent", str(spec), "--task", "t", "--state", str(tmp_path / "state"),
        program="airlock-runtime",
        env={"AIRLOCK_PROFILE": "airgapped", "OTEL_EXPORTER_OTLP_ENDPOINT": "https://otlp.example.com"},
    )
    assert result.returncode == 2, result.stderr
    assert "OTEL_EXPORTER_OTLP_ENDPOINT='https://otlp.example.com' is outside the cluster" in result.stderr
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize(
    "cidr, reaches",
    [
        ("::ffff:0:0/96", "0.0.0.0/0"),
        ("::ffff:169.254.169.254/128", "169.254.169.254/32"),
        ("::ffff:127.0.0.1/128", "127.0.0.1/32"),
        ("64:ff9b::a9fe:a9fe/128", "169.254.169.254/32"),
        ("2002:a9fe:a9fe::/48", "169.254.169.254/32"),
        ("::ffff:100.64.0.0/106", "100.64.0.0/10"),
    ],
)
def test_ipv6_spellings_of_forbidden_ranges_are_refused(cidr: str, reaches: str) -> None:
    assert normalize_network(ipaddress.ip_network(cidr)) == ipaddress.ip_network(reaches)
    config = stack_document("dev")["config"]
    config["airlock:sandboxes"][0]["egressAllowlist"] = [cidr]
    with pytest.raises(ConfigError) as raised:
        load(flatten(config), "dev", PROJECT_DIR)
    assert any(i.path == "airlock:sandboxes[0].egressAllowlist[0]" for i in raised.value.issues), raised.value


def test_private_ipv6_still_allowed() -> None:
    config = stack_document("dev")["config"]
    config["airlock:sandboxes"][0]["egressAllowlist"] = ["fd12:3456::/48"]
    load(flatten(config), "dev", PROJECT_DIR)


@pytest.mark.parametrize("url", ["https://169.254.169.254/v1", "https://0xa9fea9fe/v1", "https://[fe80::1]/v1", "https://127.0.0.1/v1", "https://100.64.0.1/v1"])
def test_cloud_model_base_url_on_node_local_addresses_is_refused(url: str) -> None:
    config = stack_document("dev")["config"]
    config["airlock:cloudModels"][0]["baseUrl"] = url
    with pytest.raises(ConfigError) as raised:
        load(flatten(config), "dev", PROJECT_DIR)
    assert any(i.path == "airlock:cloudModels[0].baseUrl" for i in raised.value.issues), raised.value


def test_airgapped_stack_exports_telemetry_only_inside_the_cluster() -> None:
    config = stack_document("airgap")["config"]
    config["airlock:observability"] = {"exporter": "otlphttp", "endpoint": "http://134744072:4318"}
    with pytest.raises(ConfigError) as raised:
        load(flatten(config), "airgap", PROJECT_DIR)
    assert any(i.path == "airlock:observability.endpoint" for i in raised.value.issues), raised.value


def test_one_function_for_both_sides() -> None:
    """The stack rules and the runtime import the same parser."""
    import components.config.rules.addresses as rules
    import components.config.rules.sandboxes as sandboxes

    assert rules.host_class is host_class
    assert sandboxes.normalize_network is normalize_network
    assert hosts.parse_ip is parse_ip
