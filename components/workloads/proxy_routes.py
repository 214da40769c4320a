"""Who may reach which internet names through the egress proxy: one port per client class.

The proxy listens on one port per client (orchestrator, model servers, telemetry, each
sandbox pool). NetworkPolicies admit each client namespace to its own port only, and
Squid allows each port only that client's names, so a sandbox can never borrow the
orchestrator's route to a cloud model API. Clients are derived from the stack config
alone, so the proxy, its NetworkPolicies and every client's HTTPS_PROXY agree.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

from components.config.schema import StackConfig
from components.config.naming import MODELS_NAMESPACE, ORCHESTRATOR_NAMESPACE, TELEMETRY_NAMESPACE, sandbox_namespace
from components.config.defaults import PROFILES
from components.config.endpoints import parse_endpoint
from components.workloads.endpoints import collector_pods, model_server_pods, orchestrator_pods

ORCHESTRATOR_PROXY_PORT = 3128
MODELS_PROXY_PORT = 3129
TELEMETRY_PROXY_PORT = 3130
SANDBOX_PROXY_BASE_PORT = 3140  # + the pool's index in airlock:sandboxes
HTTPS_PORT = 443
# The collector's client name (Squid port name, access-log label).
TELEMETRY_CLIENT = "telemetry"

# Hugging Face Hub API, its LFS CDN and the Xet storage bridge that now serves most weights.
HUGGING_FACE_HOSTS = ("huggingface.co", "*.huggingface.co", "*.hf.co")


@dataclass(frozen=True)
class ProxyClient:
    client: str  # Squid port name and the label in every access-log line
    port_name: str  # Kubernetes port name (at most 15 characters)
    port: int
    namespace: str
    # Which pods of the namespace may use this port; None: every pod (sandbox namespaces
    # run nothing else, and a probe Job must see exactly what the executor sees).
    pod_labels: Mapping[str, str] | None
    hosts: tuple[str, ...]
    dest_ports: tuple[int, ...] = (HTTPS_PORT,)


def is_cidr_entry(entry: str) -> bool:
    """Allowlist entries are CIDRs (NetworkPolicy) or DNS names (this proxy)."""
    try:
        ipaddress.ip_network(entry, strict=True)
    except ValueError:
        return False
    return True


def proxy_clients(config: StackConfig) -> list[ProxyClient]:
    """Every client of the proxy; empty when the stack runs none. The orchestrator always
    has its port (it is the proxy's reason to exist); others only when they have names."""
    if not config.egress_proxy.enabled:
        return []
    clients = [_orchestrator(config)]
    if PROFILES[config.profile].internet and any(m.weights_source == "huggingface" for m in config.models):
        clients.append(
            ProxyClient("models", "models", MODELS_PROXY_PORT, MODELS_NAMESPACE, model_server_pods(), HUGGING_FACE_HOSTS)
        )
    telemetry = telemetry_client(config)
    if telemetry:
        clients.append(telemetry)
    for index, sandbox in enumerate(config.sandboxes):
        names = tuple(e for e in sandbox.egress_allowlist if not is_cidr_entry(e))
        if names:
            clients.append(
                ProxyClient(
                    f"sandbox-{sandbox.name}",
                    f"sbx-{index}",
                    SANDBOX_PROXY_BASE_PORT + index,
                    sandbox_namespace(sandbox.name),
                    None,
                    names,
                )
            )
    return clients


def _orchestrator(config: StackConfig) -> ProxyClient:
    hosts: list[str] = []
    ports = {HTTPS_PORT}
    for cloud_model in config.cloud_models:
        url = urlsplit(cloud_model.base_url or "")
        if url.hostname:
            hosts.append(url.hostname)
            ports.add(url.port or HTTPS_PORT)
    hosts.extend(config.egress_proxy.allowlist)
    return ProxyClient(
        "orchestrator",
        "orchestrator",
        ORCHESTRATOR_PROXY_PORT,
        ORCHESTRATOR_NAMESPACE,
        orchestrator_pods(),
        tuple(dict.fromkeys(hosts)),
        tuple(sorted(ports)),
    )


def telemetry_client(config: StackConfig) -> ProxyClient | None:
    """The collector exports through the proxy when its endpoint is on the internet."""
    endpoint = config.observability.endpoint
    if not endpoint or not config.egress_proxy.enabled:
        return None
    parsed = parse_endpoint(endpoint)
    if parsed.in_cluster:
        return None
    return ProxyClient(
        TELEMETRY_CLIENT, "telemetry", TELEMETRY_PROXY_PORT, TELEMETRY_NAMESPACE, collector_pods(), (parsed.host,), (parsed.port,)
    )


def squid_domains(hosts: tuple[str, ...]) -> list[str]:
    """Allowlist names as Squid dstdomain values: ``*.example.com`` -> ``.example.com``
    (which Squid also matches for example.com itself), dropping names a wildcard already
    covers, since Squid rejects overlapping entries in one ACL."""
    wildcards = {h[2:] for h in hosts if h.startswith("*.")}

    def covered(name: str) -> bool:
        labels = name.split(".")
        return any(".".join(labels[i:]) in wildcards for i in range(len(labels)))

    result: list[str] = []
    for host in hosts:
        if host.startswith("*."):
            base = host[2:]
            if not covered(base.split(".", 1)[1] if "." in base else "") and f".{base}" not in result:
                result.append(f".{base}")
        elif not covered(host) and host not in result:
            result.append(host)
    return sorted(result)
