"""Names of the namespaces and in-cluster services, in one place so components agree."""

from __future__ import annotations

ORCHESTRATOR_NAMESPACE = "airlock-orchestrator"
MODELS_NAMESPACE = "airlock-models"
EGRESS_NAMESPACE = "airlock-egress"
TELEMETRY_NAMESPACE = "airlock-telemetry"
SANDBOX_NAMESPACE_PREFIX = "airlock-sbx-"


def sandbox_namespace(pool: str) -> str:
    return f"{SANDBOX_NAMESPACE_PREFIX}{pool}"


def model_service_url(model: str) -> str:
    """The OpenAI-compatible base URL of a local model, as the runtime reaches it."""
    return f"http://{model}.{MODELS_NAMESPACE}.svc.cluster.local:8000/v1"
