"""What one component hands to another. Kept tiny and typed so platforms are swappable:
workloads only ever see a ClusterAccess, whether the cluster is EKS or on-prem."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class ClusterAccess:
    """A Kubernetes cluster workloads can be deployed to."""

    provider: k8s.Provider
    name: pulumi.Input[str]
    kubernetes_version: str
    # aws only: the IAM OIDC provider that lets service accounts assume roles (IRSA).
    oidc_provider_arn: pulumi.Output[str] | None = None
    # Issuer URL without the scheme, as used in IRSA trust policy conditions.
    oidc_issuer: pulumi.Output[str] | None = None
    # Resources workloads must wait for (node groups, CNI add-ons).
    ready: list[pulumi.Resource] = field(default_factory=list)


@dataclass(frozen=True)
class AwsServices:
    """What the AWS side (components/aws) hands to the workloads (components/workloads).

    Filled by the AWS platform build; ``None`` on platform 'kubernetes'.
    """

    region: str
    account_id: pulumi.Input[str]
    # IRSA role the orchestrator's ServiceAccount assumes (reads its secrets, queue, table, bucket).
    orchestrator_role_arn: pulumi.Input[str]
    # Secrets Manager ARNs by airlock:secrets name; the runtime's broker reads them at tool-call time.
    secret_arns: Mapping[str, pulumi.Input[str]]
    # ECR repository URLs by image key (ImagesConfig field name), used by resolve_image.
    registry_urls: Mapping[str, pulumi.Input[str]]
    # The runtime's AWS store (AIRLOCK_STORE=aws:): every name its backend reads, in one place.
    queue_url: pulumi.Input[str]
    dead_letter_queue_url: pulumi.Input[str]
    checkpoint_table: pulumi.Input[str]
    audit_bucket: pulumi.Input[str]
    payload_bucket: pulumi.Input[str]
    # Current values read from Secrets Manager at deploy time (Pulumi secrets), for the few
    # entries a workload needs as a Kubernetes Secret (the Hugging Face token).
    synced_secret_values: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    # S3 bucket of mirrored weights (model weightsSource 's3') readable by model servers, if any.
    model_server_role_arn: pulumi.Input[str] | None = None
