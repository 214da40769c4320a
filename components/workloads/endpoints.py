"""Names, selectors, ports and URLs of the in-cluster services, in one place.

A NetworkPolicy in one namespace names pods and ports of a workload in another; when
both read them from here, a renamed port or label cannot silently open (or break) a path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlsplit

from components.labels import ROLE_LABEL, selector
from components.naming import EGRESS_NAMESPACE, TELEMETRY_NAMESPACE, sandbox_namespace

CLUSTER_DOMAIN = "cluster.local"

ORCHESTRATOR_APP = "orchestrator"
ORCHESTRATOR_PORT = 8080  # runtime HTTP API, /healthz, /readyz and /metrics

VLLM_PORT = 8000

EXECUTOR_APP = "sandbox-executor"
EXECUTOR_PORT = 8080

COLLECTOR_APP = "otel-collector"
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
COLLECTOR_HEALTH_PORT = 13133

PROXY_APP = "egress-proxy"


def orchestrator_pods() -> dict[str, str]:
    return selector("orchestrator", ORCHESTRATOR_APP)


def model_server_pods() -> dict[str, str]:
    """Every model server (each model's Deployment adds its own name label)."""
    return {ROLE_LABEL: "model-server"}


def executor_pods() -> dict[str, str]:
    return selector("sandbox", EXECUTOR_APP)


def collector_pods() -> dict[str, str]:
    return selector("telemetry", COLLECTOR_APP)


def proxy_pods() -> dict[str, str]:
    return selector("egress-proxy", PROXY_APP)


def service_host(service: str, namespace: str) -> str:
    return f"{service}.{namespace}.svc.{CLUSTER_DOMAIN}"


def collector_otlp_http_url() -> str:
    return f"http://{service_host(COLLECTOR_APP, TELEMETRY_NAMESPACE)}:{OTLP_HTTP_PORT}"


def executor_url(pool: str) -> str:
    return f"http://{service_host(EXECUTOR_APP, sandbox_namespace(pool))}:{EXECUTOR_PORT}"


def proxy_url(port: int) -> str:
    return f"http://{service_host(PROXY_APP, EGRESS_NAMESPACE)}:{port}"


# In-cluster names that must never go through the egress proxy.
NO_PROXY = ("localhost", "127.0.0.1", ".svc", f".svc.{CLUSTER_DOMAIN}", f".{CLUSTER_DOMAIN}")

@dataclass(frozen=True)
class Endpoint:
    """A host:port some workload connects to, and where it lives."""

    host: str
    port: int
    scheme: str  # 'https', 'http' or 'grpc' (a bare host:port, TLS unless told otherwise)
    # The namespace of an in-cluster Service (<svc>.<ns>.svc[.cluster.local]); None outside.
    namespace: Optional[str]

    @property
    def in_cluster(self) -> bool:
        return self.namespace is not None


def parse_endpoint(text: str) -> Endpoint:
    """``https://otlp.example.com:4318``, ``http://tempo.tracing.svc:4318`` or ``collector.corp:4317``.
    Raises ValueError for anything else (config rules turn that into a keyed message)."""
    if "://" not in text:
        host, _, port = text.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"{text!r} is neither a URL nor host:port")
        number = int(port)
    else:
        parts = urlsplit(text)
        host = parts.hostname or ""
        number = parts.port or (443 if parts.scheme == "https" else 80)  # .port raises ValueError when out of range
        if not host or parts.scheme not in ("http", "https"):
            raise ValueError(f"{text!r} is not an http:// or https:// URL")
    if not 0 < number < 65536:
        raise ValueError(f"{text!r}: port {number} is out of range")
    scheme = "grpc" if "://" not in text else urlsplit(text).scheme
    return Endpoint(host.lower(), number, scheme, _service_namespace(host))


def _service_namespace(host: str) -> Optional[str]:
    labels = host.lower().split(".")
    if len(labels) >= 3 and (labels[2:] == ["svc"] or labels[2:] == ["svc", *CLUSTER_DOMAIN.split(".")]):
        return labels[1]
    return None
