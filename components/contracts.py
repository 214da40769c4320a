"""What one component hands to another. Kept tiny and typed so platforms are swappable:
workloads only ever see a ClusterAccess, whether the cluster is EKS or on-prem."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class ClusterAccess:
    """A Kubernetes cluster workloads can be deployed to."""

    provider: k8s.Provider
    name: pulumi.Input[str]
    kubernetes_version: str
    # aws only: the IAM OIDC provider that lets service accounts assume roles (IRSA).
    oidc_provider_arn: Optional[pulumi.Output[str]] = None
    # Issuer URL without the scheme, as used in IRSA trust policy conditions.
    oidc_issuer: Optional[pulumi.Output[str]] = None
    # Resources workloads must wait for (node groups, CNI add-ons).
    ready: list[pulumi.Resource] = field(default_factory=list)
