"""What every workload component is built from: the validated stack and, on aws, the AWS base."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import pulumi

from components.config.schema import StackConfig
from components.config.loader import LoadedConfig
from components.workloads.contracts import AwsServices
from components.config.images import resolve_image
from components.workloads.proxy_routes import ProxyClient, proxy_clients


@dataclass(frozen=True)
class WorkloadContext:
    loaded: LoadedConfig
    kubernetes_version: str
    # The AWS base (IRSA roles, ECR, Secrets Manager, runtime stores); None on platform 'kubernetes'.
    aws: AwsServices | None = None
    # What must exist before anything is applied to the cluster (node groups, CNI add-ons).
    # A component's depends_on does not reach its children, so namespaces wait on these
    # explicitly and everything else waits on its namespace.
    cluster_ready: Sequence[pulumi.Resource] = ()

    @property
    def config(self) -> StackConfig:
        return self.loaded.config

    def image(self, key: str) -> pulumi.Input[str]:
        """The pod-spec reference of an image: mirror > this stack's ECR > upstream."""
        registry_urls = self.aws.registry_urls if self.aws else None
        if (
            self.config.profile == "airgapped"
            and registry_urls is not None
            and key not in registry_urls
            and not self.config.images.mirror
        ):
            # Config rules cannot see which repositories the AWS base creates; say it here.
            pulumi.log.warn(
                f"images.{key}: this stack has no ECR repository for it, so it resolves to "
                f"{resolve_image(self.config.images, key)}, which an airgapped cluster cannot pull"
            )
        return resolve_image(self.config.images, key, registry_urls)

    @cached_property
    def proxy_clients(self) -> list[ProxyClient]:
        return proxy_clients(self.config)

    def proxy_client(self, client: str) -> ProxyClient | None:
        return next((c for c in self.proxy_clients if c.client == client), None)

    @property
    def private_subnets(self) -> list[str]:
        """aws: the VPC's private subnets, where nodes, pods and the interface endpoints live."""
        network = self.config.network
        return [str(c) for c in (network.private_subnet_cidrs or [])] if network is not None else []
