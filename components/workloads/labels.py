"""Labels every Kubernetes object Airlock creates carries, so audits and tests can find them."""

from __future__ import annotations

from typing import Literal

ROLE_LABEL = "airlock.dev/role"
Role = Literal["sandbox", "model-server", "orchestrator", "egress-proxy", "telemetry", "system"]


def labels(role: Role, name: str, **extra: str) -> dict[str, str]:
    """Standard labels (app.kubernetes.io/*) plus the Airlock role."""
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/part-of": "airlock",
        "app.kubernetes.io/managed-by": "pulumi",
        ROLE_LABEL: role,
        **extra,
    }


def selector(role: Role, name: str) -> dict[str, str]:
    """The stable subset used in label selectors (selectors are immutable once applied)."""
    return {"app.kubernetes.io/name": name, ROLE_LABEL: role}
