"""Platform 'kubernetes': an existing cluster (on-prem or any managed one), reached by kubeconfig."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.config.schema import ClusterConfig
from components.workloads.contracts import ClusterAccess


@dataclass(frozen=True)
class ExistingClusterArgs:
    cluster: ClusterConfig


class ExistingCluster(pulumi.ComponentResource):
    access: ClusterAccess

    def __init__(self, name: str, args: ExistingClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:kubernetes:ExistingCluster", name, None, opts)
        cfg = args.cluster
        kubeconfig = (
            pulumi.Output.secret(cfg.kubeconfig.get_secret_value()) if cfg.kubeconfig is not None else None
        )
        provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=kubeconfig,
            context=cfg.context,
            cluster_identifier=cfg.name,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.access = ClusterAccess(provider=provider, name=cfg.name or name, kubernetes_version=cfg.kubernetes_version)
        self.register_outputs({"clusterName": cfg.name})
