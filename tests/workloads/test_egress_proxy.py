"""The egress proxy: per-client allowlists, default deny, logging, and its network position.

The rendered squid.conf is read back as Squid reads it (acl and http_access lines, in
order). When a Squid binary is installed the config is also parsed and run by it on
loopback, and every denial is observed from a client.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from airlock.synth.run import validate_stack
from components.workloads.egress_proxy import render_squid_conf
from components.workloads.proxy_routes import proxy_clients, squid_domains
from support import PROJECT_DIR, STACKS, shipped
from workload_manifests import containers, env_of, get, in_namespace, ingress_rules, kinds

EGRESS = "airlock-egress"


@dataclass
class SquidConfig:
    ports: dict[str, int] = field(default_factory=dict)  # port name -> port
    acls: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # name -> (type, values)
    access: list[tuple[str, list[str]]] = field(default_factory=list)  # (allow|deny, [acl, !acl, ...])
    directives: dict[str, str] = field(default_factory=dict)

    def allowed(self, port_name: str) -> list[tuple[set[str], set[str]]]:
        """(names, ports) each allow line grants the client on ``port_name``."""
        grants = []
        for action, acls in self.access:
            if action != "allow":
                continue
            names, ports, from_port = set(), set(), None
            for acl in (a for a in acls if not a.startswith("!")):
                kind, values = self.acls[acl]
                if kind == "myportname":
                    from_port = values[0]
                elif kind == "dstdomain":
                    names |= {v for v in values if v != "-n"}
                elif kind == "port":
                    ports |= set(values)
            if from_port == port_name:
                grants.append((names, ports))
        return grants


def parse(text: str) -> SquidConfig:
    config = SquidConfig()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        keyword, *rest = line.split()
        if keyword == "http_port":
            config.ports[re.search(r"name=(\S+)", line)[1]] = int(rest[0].rsplit(":", 1)[-1])
        elif keyword == "acl":
            config.acls[rest[0]] = (rest[1], rest[2:])
        elif keyword == "http_access":
            config.access.append((rest[0], rest[1:]))
        else:
            config.directives[keyword] = " ".join(rest)
    return config


def prod_squid() -> tuple[str, SquidConfig]:
    text = render_squid_conf(proxy_clients(validate_stack(PROJECT_DIR, "prod").config))
    return text, parse(text)


def test_each_client_gets_only_its_own_names_on_its_own_port() -> None:
    _, config = prod_squid()
    assert config.ports == {"orchestrator": 3128, "models": 3129, "telemetry": 3130, "sandbox-default": 3140}
    assert config.allowed("orchestrator") == [({"api.anthropic.com"}, {"443"})]
    assert config.allowed("models") == [({".huggingface.co", ".hf.co"}, {"443"})]
    assert config.allowed("telemetry") == [({"otlp.observability.example.com"}, {"4318"})]
    assert config.allowed("sandbox-default") == [({"pypi.org", "files.pythonhosted.org"}, {"443"})]


def test_everything_else_is_denied() -> None:
    _, config = prod_squid()
    assert config.access[0] == ("deny", ["!CONNECT"])  # tunnels only: no plain HTTP, no cache manager
    assert config.access[-1] == ("deny", ["all"])
    for action, acls in config.access[1:-1]:
        assert action == "allow" and "!blocked_address" in acls
    kind, blocked = config.acls["blocked_address"]
    assert kind == "dst"
    for network in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "fc00::/7", "fe80::/10"):
        assert network in blocked
    # Names are matched literally: an IP literal or a reverse lookup never matches a name.
    assert all(values[0] == "-n" for kind, values in config.acls.values() if kind == "dstdomain")


def test_every_decision_is_logged_with_its_outcome() -> None:
    _, config = prod_squid()
    logformat = config.directives["logformat"]
    for code in ("%>a", "%>lp", "%rm", "%ru", "%>Hs", "%Ss", "%{allowlist}note"):
        assert code in logformat
    assert config.directives["access_log"] == "stdio:/dev/stdout airlock"
    assert config.directives["cache"] == "deny all"


def test_wildcards_become_squid_domains_without_overlap() -> None:
    assert squid_domains(("*.example.com", "example.com", "api.example.com", "*.a.example.com", "pypi.org")) == [
        ".example.com",
        "pypi.org",
    ]
    assert squid_domains(("huggingface.co", "*.huggingface.co", "*.hf.co")) == [".hf.co", ".huggingface.co"]


def test_proxy_deployment_mounts_the_rendered_config() -> None:
    bundle = shipped("prod")
    text, _ = prod_squid()
    config_map = get(bundle, "ConfigMap", EGRESS, "egress-proxy-config")
    assert config_map["data"]["squid.conf"] == text
    spec = get(bundle, "Deployment", EGRESS, "egress-proxy")["spec"]
    (container,) = spec["template"]["spec"]["containers"]
    assert container["args"] == ["-N", "-f", "/etc/squid/airlock/squid.conf"]
    assert spec["template"]["metadata"]["annotations"]["airlock.dev/config-sha256"]  # a new config rolls the pods
    assert spec["replicas"] == 2


def test_each_client_namespace_reaches_only_its_own_port() -> None:
    rules = ingress_rules(shipped("prod"), EGRESS)
    admitted = {
        (rule["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], rule["ports"][0]["port"])
        for rule in rules
    }
    assert admitted == {
        ("airlock-orchestrator", 3128),
        ("airlock-models", 3129),
        ("airlock-telemetry", 3130),
        ("airlock-sbx-default", 3140),
    }
    assert all(len(rule["from"]) == 1 and len(rule["ports"]) == 1 for rule in rules)


def test_proxy_egress_is_public_addresses_on_the_client_ports_only() -> None:
    policy = get(shipped("prod"), "NetworkPolicy", EGRESS, "egress-proxy-egress")
    internet = next(r for r in policy["spec"]["egress"] if "ipBlock" in r["to"][0])
    assert {p["port"] for p in internet["ports"]} == {443, 4318}
    blocks = {peer["ipBlock"]["cidr"]: set(peer["ipBlock"]["except"]) for peer in internet["to"]}
    assert {"10.0.0.0/8", "169.254.0.0/16", "100.64.0.0/10", "127.0.0.0/8"} <= blocks["0.0.0.0/0"]
    assert {"fc00::/7", "fe80::/10", "::1/128"} <= blocks["::/0"]


@pytest.mark.parametrize("stack", ["airgap", "onprem"])
def test_airgapped_stacks_run_no_proxy_and_point_nothing_at_one(stack: str) -> None:
    bundle = shipped(stack)
    assert in_namespace(bundle, EGRESS) == []
    assert not kinds(bundle, "Namespace") or EGRESS not in {n["metadata"]["name"] for n in kinds(bundle, "Namespace")}
    for _, container in containers(bundle):
        assert not {"HTTPS_PROXY", "https_proxy", "HTTP_PROXY"} & set(env_of(container))


@pytest.mark.parametrize("stack", [s for s in STACKS if s not in ("airgap", "onprem")])
def test_internet_stacks_render_a_config_squid_reads(stack: str) -> None:
    text = render_squid_conf(proxy_clients(validate_stack(PROJECT_DIR, stack).config))
    config = parse(text)
    assert "orchestrator" in config.ports and config.access[-1] == ("deny", ["all"])


# --------------------------------------------------------------------------- a real Squid, on loopback

squid = shutil.which("squid") or shutil.which("squid", path="/usr/sbin")


@pytest.mark.skipif(squid is None, reason="no squid binary (apt-get install squid) for the live check")
def test_real_squid_parses_the_config_and_denies_on_loopback() -> None:
    # Not tmp_path: Squid started as root drops to its own user, which cannot traverse
    # pytest's private directories.
    work = Path(tempfile.mkdtemp(prefix="airlock-squid-"))
    try:
        _run_squid(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run_squid(work: Path) -> None:
    text, config = prod_squid()
    os.chmod(work, 0o777)
    ports = {name: _free_port() for name in config.ports}
    text = re.sub(r"http_port (\d+) name=(\S+)", lambda m: f"http_port 127.0.0.1:{ports[m[2]]} name={m[2]}", text)
    text = text.replace("stdio:/dev/stdout", f"stdio:{work}/access.log").replace("cache_log /dev/stderr", f"cache_log {work}/cache.log")
    # Loopback only: names resolve from a hosts file, and pypi.org "resolves" to 127.0.0.1.
    (work / "hosts").write_text("127.0.0.1 pypi.org\n")
    os.chmod(work / "hosts", 0o644)
    text += f"\ndns_nameservers 127.0.0.1\nhosts_file {work}/hosts\nshutdown_lifetime 0 seconds\n"
    (work / "squid.conf").write_text(text)
    os.chmod(work / "squid.conf", 0o644)

    parsed = subprocess.run([squid, "-k", "parse", "-f", str(work / "squid.conf")], capture_output=True, text=True, timeout=60)
    assert parsed.returncode == 0, parsed.stderr[-2000:]
    assert "ERROR" not in parsed.stderr and "FATAL" not in parsed.stderr

    process = subprocess.Popen([squid, "-N", "-f", str(work / "squid.conf")], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(ports["sandbox-default"])
        sandbox, orchestrator = ports["sandbox-default"], ports["orchestrator"]
        assert _status(sandbox, "CONNECT evil.example.com:443") == 403  # not on anyone's list
        assert _status(sandbox, "CONNECT api.anthropic.com:443") == 403  # the orchestrator's name, not the sandbox's
        assert _status(orchestrator, "CONNECT pypi.org:443") == 403  # and the other way round
        assert _status(sandbox, "CONNECT pypi.org:8443") == 403  # allowed name, wrong port
        assert _status(sandbox, "CONNECT 1.1.1.1:443") == 403  # IP literals never match a name
        assert _status(sandbox, "GET http://pypi.org/simple/") == 403  # plain HTTP is never proxied
        assert _status(sandbox, "CONNECT pypi.org:443") == 403  # allowed name resolving to loopback
        log = _read_log(work / "access.log", lines=7)
    finally:
        process.kill()
        process.wait(timeout=10)
    lines = [line for line in log.splitlines() if "method=" in line and "method=-" not in line]
    assert len(lines) == 7 and all("result=TCP_DENIED" in line and "status=403" in line for line in lines)
    assert f"listener={sandbox} method=CONNECT target=pypi.org:443" in log and "allowlist=sandbox-default" in log
    assert "target=evil.example.com:443" in log and "allowlist=-" in log


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"squid did not listen on {port}")


def _status(port: int, request_line: str) -> int:
    target = request_line.split()[1]
    host = target.split("//")[-1].split("/")[0]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(f"{request_line} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        status_line = conn.recv(4096).split(b"\r\n", 1)[0].decode()
    return int(status_line.split()[1])


def _read_log(path: Path, lines: int) -> str:
    for _ in range(100):
        text = path.read_text() if path.exists() else ""
        if sum(1 for line in text.splitlines() if "method=" in line and "method=-" not in line) >= lines:
            return text
        time.sleep(0.05)
    return path.read_text() if path.exists() else ""
