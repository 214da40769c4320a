"""A component's own namespace, born deny-by-default, and the plumbing objects inside it.

Every workload component owns exactly one namespace. Creating it through ``owned_namespace``
also creates its ``default-deny`` NetworkPolicy, so "every namespace Airlock creates has a
NetworkPolicy, and starts closed" holds by construction, not by each component remembering.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.workloads.labels import Role
from components.workloads.namespace import PodSecurityLevel, airlock_namespace
from components.workloads.network_policies import default_deny_spec, network_policy
from components.workloads.pod_security import Spec, disruption_budget_spec, metadata

# IRSA (aws): the IAM role a service account's pods assume through the cluster's OIDC provider.
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"


@dataclass(frozen=True)
class NamespaceScope:
    namespace: k8s.core.v1.Namespace
    name: pulumi.Output[str]
    role: Role
    # parent = the owning component, after the namespace exists.
    opts: pulumi.ResourceOptions

    def within(self, owner: pulumi.ComponentResource, *prerequisites: pulumi.Resource) -> "NamespaceScope":
        """The same namespace for a child component's resources, after ``prerequisites``."""
        return NamespaceScope(
            self.namespace, self.name, self.role, pulumi.ResourceOptions(parent=owner, depends_on=[self.namespace, *prerequisites])
        )

    def after(self, *resources: pulumi.Resource) -> pulumi.ResourceOptions:
        """Options for a child that must wait for ``resources`` too (explicit ordering)."""
        return pulumi.ResourceOptions.merge(self.opts, pulumi.ResourceOptions(depends_on=list(resources)))

    def policy(self, resource_name: str, name: str, spec: Spec) -> k8s.networking.v1.NetworkPolicy:
        return network_policy(resource_name, name, self.name, self.role, spec, self.opts)

    def service_account(
        self, resource_name: str, name: str, app: str, irsa_role_arn: pulumi.Input[str] | None = None
    ) -> k8s.core.v1.ServiceAccount:
        """A dedicated account (never 'default') that mounts no token; on aws, optionally
        bound to an IAM role (IRSA)."""
        meta = metadata(name, self.name, self.role, app)
        if irsa_role_arn is not None:
            meta["annotations"] = {IRSA_ANNOTATION: irsa_role_arn}
        return k8s.core.v1.ServiceAccount(resource_name, metadata=meta, automount_service_account_token=False, opts=self.opts)

    def service(
        self,
        resource_name: str,
        name: str,
        app: str,
        selector: Mapping[str, str],
        ports: Sequence[tuple[str, int]],
        **extra_labels: str,
    ) -> k8s.core.v1.Service:
        """A ClusterIP Service whose ports target the container ports of the same name."""
        return k8s.core.v1.Service(
            resource_name,
            metadata=metadata(name, self.name, self.role, app, **extra_labels),
            spec={
                "type": "ClusterIP",
                "selector": dict(selector),
                "ports": [{"name": port_name, "port": port, "targetPort": port_name, "protocol": "TCP"} for port_name, port in ports],
            },
            opts=self.opts,
        )

    def disruption_budget(
        self, resource_name: str, name: str, app: str, selector: Mapping[str, str], **extra_labels: str
    ) -> k8s.policy.v1.PodDisruptionBudget:
        return k8s.policy.v1.PodDisruptionBudget(
            resource_name,
            metadata=metadata(name, self.name, self.role, app, **extra_labels),
            spec=disruption_budget_spec(selector),
            opts=self.opts,
        )


def owned_namespace(
    owner: pulumi.ComponentResource,
    resource_prefix: str,
    namespace: str,
    role: Role,
    kubernetes_version: str,
    cluster_ready: Sequence[pulumi.Resource] = (),
    level: PodSecurityLevel = "restricted",
) -> NamespaceScope:
    """``cluster_ready``: what the namespace (and so everything in it) must wait for."""
    created = airlock_namespace(
        f"{resource_prefix}-namespace",
        namespace,
        role,
        kubernetes_version,
        pulumi.ResourceOptions(parent=owner, depends_on=list(cluster_ready)),
        level,
    )
    scope = NamespaceScope(created, created.metadata.name, role, pulumi.ResourceOptions(parent=owner, depends_on=[created]))
    scope.policy(f"{resource_prefix}-default-deny", "default-deny", default_deny_spec())
    return scope
