"""Namespaces Airlock creates: role-labelled and under Pod Security admission."""

from __future__ import annotations

from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from components.workloads.labels import Role, labels

PodSecurityLevel = Literal["restricted", "baseline", "privileged"]


def pod_security_labels(level: PodSecurityLevel, version: str) -> dict[str, str]:
    """enforce, audit and warn at one level, pinned to the cluster's minor version so a
    control-plane upgrade cannot silently change what is admitted."""
    pinned = f"v{version}"
    return {
        f"pod-security.kubernetes.io/{mode}{suffix}": value
        for mode in ("enforce", "audit", "warn")
        for suffix, value in (("", level), ("-version", pinned))
    }


def airlock_namespace(
    resource_name: str,
    namespace: str,
    role: Role,
    kubernetes_version: str,
    opts: pulumi.ResourceOptions,
    level: PodSecurityLevel = "restricted",
) -> k8s.core.v1.Namespace:
    return k8s.core.v1.Namespace(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=namespace,
            labels={**labels(role, namespace), **pod_security_labels(level, kubernetes_version)},
        ),
        opts=opts,
    )
