"""Reading Kubernetes objects: pod templates, containers, label selectors."""

from __future__ import annotations

from typing import Any, Iterator

from policy.model import Resource

WORKLOAD_KINDS = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
# Type tokens of pod-bearing objects, for resource rules (the CrossGuard pack filters on them).
WORKLOAD_TYPES = (
    "kubernetes:core/v1:Pod",
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:apps/v1:ReplicaSet",
    "kubernetes:batch/v1:Job",
    "kubernetes:batch/v1:CronJob",
)


def pod_spec(resource: Resource) -> tuple[dict[str, Any], str] | None:
    """The pod spec of a workload and its property path, or None."""
    obj = resource.inputs
    kind = resource.kind
    if kind not in WORKLOAD_KINDS:
        return None
    if kind == "Pod":
        spec, path = obj.get("spec"), "spec"
    elif kind == "CronJob":
        spec, path = _dig(obj, "spec", "jobTemplate", "spec", "template", "spec"), "spec.jobTemplate.spec.template.spec"
    else:
        spec, path = _dig(obj, "spec", "template", "spec"), "spec.template.spec"
    return (spec, path) if isinstance(spec, dict) else None


def pod_labels(resource: Resource) -> dict[str, str]:
    obj = resource.inputs
    if resource.kind == "Pod":
        labels = _dig(obj, "metadata", "labels")
    elif resource.kind == "CronJob":
        labels = _dig(obj, "spec", "jobTemplate", "spec", "template", "metadata", "labels")
    else:
        labels = _dig(obj, "spec", "template", "metadata", "labels")
    return labels if isinstance(labels, dict) else {}


def containers(spec: dict[str, Any], base: str) -> Iterator[tuple[dict[str, Any], str]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for index, container in enumerate(spec.get(key) or []):
            if isinstance(container, dict):
                yield container, f"{base}.{key}[{index}]"


def effective(container: dict[str, Any], spec: dict[str, Any], field: str) -> Any:
    """A securityContext field as Kubernetes applies it: the container's, else the pod's."""
    own = (container.get("securityContext") or {}).get(field)
    return own if own is not None else (spec.get("securityContext") or {}).get(field)


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Whether a LabelSelector matches a label set (an empty selector matches all)."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _dig(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj
