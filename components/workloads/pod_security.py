"""Secure pod and container specs shared by every Airlock workload.

Pod Security 'restricted' is the floor (non-root, non-zero UID, no privilege escalation,
all capabilities dropped, seccomp RuntimeDefault); on top of it every container here gets
a read-only root filesystem (writable paths are explicit emptyDirs), requests and limits
for CPU, memory and ephemeral storage, and no service-account token. Components describe
*what* runs; these builders decide *how safely*, in one place, so no workload can forget a
field. Specs are plain camelCase dicts, exactly as they appear in the manifests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import pulumi

from components.workloads.labels import Role, labels

Spec = dict[str, Any]

SECCOMP_RUNTIME_DEFAULT = {"type": "RuntimeDefault"}
# Kubernetes' own checksum convention: a changed config changes the pod template and rolls the pods.
CONFIG_HASH_ANNOTATION = "airlock.dev/config-sha256"


def metadata(name: str, namespace: pulumi.Input[str] | None, role: Role, component: str, **extra_labels: str) -> Spec:
    """Object metadata with the standard labels; ``component`` is app.kubernetes.io/name."""
    meta: Spec = {"name": name, "labels": labels(role, component, **extra_labels)}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def container_security_context() -> Spec:
    """Everything Pod Security 'restricted' demands, plus a read-only root filesystem."""
    return {
        "runAsNonRoot": True,
        "privileged": False,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": dict(SECCOMP_RUNTIME_DEFAULT),
    }


def pod_security_context(uid: int, gid: int | None = None) -> Spec:
    if uid <= 0:
        raise ValueError(f"workloads never run as root (uid {uid})")
    group = gid if gid is not None else uid
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": group,
        # Volumes (PVCs, emptyDirs) become group-writable for the workload's group;
        # OnRootMismatch avoids re-chowning a multi-hundred-GiB model cache on every start.
        "fsGroup": group,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": dict(SECCOMP_RUNTIME_DEFAULT),
    }


@dataclass(frozen=True)
class Resources:
    """Requests and limits of one container; ephemeral storage is always bounded."""

    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str
    ephemeral_request: str = "64Mi"
    ephemeral_limit: str = "512Mi"
    # Extended resources (nvidia.com/gpu) are set as request = limit, as Kubernetes requires.
    extended: Mapping[str, str] = field(default_factory=dict)

    def spec(self) -> Spec:
        requests = {"cpu": self.cpu_request, "memory": self.memory_request, "ephemeral-storage": self.ephemeral_request}
        limits = {"cpu": self.cpu_limit, "memory": self.memory_limit, "ephemeral-storage": self.ephemeral_limit}
        requests.update(self.extended)
        limits.update(self.extended)
        return {"requests": requests, "limits": limits}


def empty_dir(name: str, size_limit: str, memory: bool = False) -> Spec:
    source: Spec = {"sizeLimit": size_limit}
    if memory:
        source["medium"] = "Memory"
    return {"name": name, "emptyDir": source}


def mount(name: str, path: str, read_only: bool = False, sub_path: str | None = None) -> Spec:
    spec: Spec = {"name": name, "mountPath": path, "readOnly": read_only}
    if sub_path:
        spec["subPath"] = sub_path
    return spec


def http_get(path: str, port: int | str, period: int, failures: int, timeout: int = 3, initial_delay: int = 0) -> Spec:
    probe: Spec = {
        "httpGet": {"path": path, "port": port, "scheme": "HTTP"},
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": timeout,
    }
    if initial_delay:
        probe["initialDelaySeconds"] = initial_delay
    return probe


def tcp_socket(port: int | str, period: int, failures: int, timeout: int = 3) -> Spec:
    return {"tcpSocket": {"port": port}, "periodSeconds": period, "failureThreshold": failures, "timeoutSeconds": timeout}


def env_value(name: str, value: pulumi.Input[str]) -> Spec:
    return {"name": name, "value": value}


def env_from_secret(name: str, secret: str, key: str) -> Spec:
    """An env var read from a Secret by reference: the value never appears in the manifest."""
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key, "optional": False}}}


def container(
    name: str,
    image: pulumi.Input[str],
    resources: Resources,
    *,
    args: Sequence[pulumi.Input[str]] | None = None,
    command: Sequence[str] | None = None,
    ports: Sequence[tuple[str, int]] = (),
    env: Sequence[Spec] = (),
    mounts: Sequence[Spec] = (),
    startup: Spec | None = None,
    readiness: Spec | None = None,
    liveness: Spec | None = None,
) -> Spec:
    spec: Spec = {
        "name": name,
        "image": image,
        # Images are pinned (tag and, in airgapped stacks, digest); never re-pull on restart.
        "imagePullPolicy": "IfNotPresent",
        "securityContext": container_security_context(),
        "resources": resources.spec(),
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    if command:
        spec["command"] = list(command)
    if args:
        spec["args"] = list(args)
    if ports:
        spec["ports"] = [{"name": port_name, "containerPort": port, "protocol": "TCP"} for port_name, port in ports]
    if env:
        spec["env"] = list(env)
    if mounts:
        spec["volumeMounts"] = list(mounts)
    for key, probe in (("startupProbe", startup), ("readinessProbe", readiness), ("livenessProbe", liveness)):
        if probe:
            spec[key] = probe
    return spec


def pod_spec(
    *,
    service_account: str,
    containers: Sequence[Spec],
    volumes: Sequence[Spec],
    uid: int,
    gid: int | None = None,
    node_selector: Mapping[str, str] | None = None,
    tolerations: Sequence[Mapping[str, str]] = (),
    runtime_class: str | None = None,
    spread_labels: Mapping[str, str] | None = None,
    termination_grace_seconds: int = 30,
) -> Spec:
    """A pod that cannot reach the node or the API server with anything it was given."""
    spec: Spec = {
        "serviceAccountName": service_account,
        # No workload here talks to the Kubernetes API. IRSA (aws) injects its own
        # projected web-identity token, which does not need the service-account token.
        "automountServiceAccountToken": False,
        # Service discovery goes through DNS; env vars for every Service in the namespace
        # would only leak the namespace's layout into the workload.
        "enableServiceLinks": False,
        "hostNetwork": False,
        "hostPID": False,
        "hostIPC": False,
        "securityContext": pod_security_context(uid, gid),
        "containers": list(containers),
        "volumes": list(volumes),
        "terminationGracePeriodSeconds": termination_grace_seconds,
    }
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    if tolerations:
        spec["tolerations"] = [dict(t) for t in tolerations]
    if runtime_class:
        spec["runtimeClassName"] = runtime_class
    if spread_labels:
        # Replicas prefer different zones and nodes, but a single-zone dev stack still schedules.
        spec["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": key,
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": dict(spread_labels)},
            }
            for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
        ]
    return spec


def deployment_spec(
    selector_labels: Mapping[str, str],
    pod_labels: Mapping[str, str],
    pod: Spec,
    *,
    replicas: int | None,
    pod_annotations: Mapping[str, pulumi.Input[str]] | None = None,
    max_surge: int | str = "25%",
    max_unavailable: int | str = "25%",
) -> Spec:
    """``replicas=None`` leaves the count to an autoscaler (server-side apply then never resets it)."""
    template_meta: Spec = {"labels": {**pod_labels, **selector_labels}}
    if pod_annotations:
        template_meta["annotations"] = dict(pod_annotations)
    spec: Spec = {
        "selector": {"matchLabels": dict(selector_labels)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": max_surge, "maxUnavailable": max_unavailable}},
        "revisionHistoryLimit": 5,
        "template": {"metadata": template_meta, "spec": pod},
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return spec


def disruption_budget_spec(selector_labels: Mapping[str, str]) -> Spec:
    """At most one replica down for voluntary disruptions. maxUnavailable (not minAvailable)
    so a single-replica workload never blocks a node drain forever."""
    return {"maxUnavailable": 1, "selector": {"matchLabels": dict(selector_labels)}}
