"""Names, selectors, ports and URLs of the in-cluster services, in one place.

A NetworkPolicy in one namespace names pods and ports of a workload in another; when
both read them from here, a renamed port or label cannot silently open (or break) a path.
"""

from __future__ import annotations

from components.workloads.labels import ROLE_LABEL, selector
from components.config.endpoints import CLUSTER_DOMAIN
from components.config.naming import EGRESS_NAMESPACE, TELEMETRY_NAMESPACE, sandbox_namespace
from runtime import contract

ORCHESTRATOR_APP = "orchestrator"
ORCHESTRATOR_PORT = contract.PORT  # runtime HTTP API, /healthz, /readyz and /metrics

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
