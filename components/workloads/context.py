"""What every workload component shares: the cluster it lands on and the stack-wide settings
all of them read. Each component's own config (its model, its sandbox pool, ...) comes in
its Args, so what a component depends on reads from there."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi

from components.config.images import resolve_image
from components.config.schema import ClusterDnsConfig, ImagesConfig, Platform, Profile, StackConfig
from components.workloads.contracts import AwsServices
from components.workloads.proxy_routes import ProxyClient, proxy_clients


@dataclass(frozen=True)
class WorkloadContext:
    platform: Platform
    profile: Profile
    kubernetes_version: str
    # The cluster's DNS pods, the one peer every workload's egress policy allows.
    dns: ClusterDnsConfig
    images: ImagesConfig
    # Every client of the egress proxy; empty when the stack runs none.
    proxy_clients: Sequence[ProxyClient] = ()
    # aws: the VPC's private subnets, where nodes, pods and the interface endpoints live.
    private_subnets: list[str] = field(default_factory=list)
    # The AWS base (IRSA roles, ECR, Secrets Manager, runtime stores); None on platform 'kubernetes'.
    aws: AwsServices | None = None
    # What must exist before anything is applied to the cluster (node groups, CNI add-ons).
    # A component's depends_on does not reach its children, so namespaces wait on these
    # explicitly and everything else waits on its namespace.
    cluster_ready: Sequence[pulumi.Resource] = ()

    @classmethod
    def of(
        cls,
        config: StackConfig,
        kubernetes_version: str,
        aws: AwsServices | None = None,
        cluster_ready: Sequence[pulumi.Resource] = (),
    ) -> WorkloadContext:
        network = config.network
        return cls(
            platform=config.platform,
            profile=config.profile,
            kubernetes_version=kubernetes_version,
            dns=config.cluster.dns,
            images=config.images,
            proxy_clients=tuple(proxy_clients(config)),
            private_subnets=[str(c) for c in (network.private_subnet_cidrs or [])] if network is not None else [],
            aws=aws,
            cluster_ready=cluster_ready,
        )

    def image(self, key: str) -> pulumi.Input[str]:
        """The pod-spec reference of an image: mirror > this stack's ECR > upstream."""
        registry_urls = self.aws.registry_urls if self.aws else None
        if (
            self.profile == "airgapped"
            and registry_urls is not None
            and key not in registry_urls
            and not self.images.mirror
        ):
            # Config rules cannot see which repositories the AWS base creates; say it here.
            pulumi.log.warn(
                f"images.{key}: this stack has no ECR repository for it, so it resolves to "
                f"{resolve_image(self.images, key)}, which an airgapped cluster cannot pull"
            )
        return resolve_image(self.images, key, registry_urls)

    def proxy_client(self, client: str) -> ProxyClient | None:
        return next((c for c in self.proxy_clients if c.client == client), None)
