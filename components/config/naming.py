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

# Service accounts that assume AWS roles (IRSA trust conditions name them exactly).
ORCHESTRATOR_SERVICE_ACCOUNT = "orchestrator"
MODEL_SERVER_SERVICE_ACCOUNT = "model-server"


def service_account_subject(namespace: str, service_account: str) -> str:
    """The `sub` claim of a service account's projected token (IRSA trust policy condition)."""
    return f"system:serviceaccount:{namespace}:{service_account}"
