"""AgentPlatform: the whole stack, built from one validated config.

Data flows one way: LoadedConfig -> AgentPlatform -> child components -> resources.
The platform decides only *which* components exist and wires their outputs together;
each component owns its resources. Two halves:

* the base: where workloads run (``_build_aws`` builds VPC, EKS, pools, registry, secret
  store and runtime stores; ``_build_existing`` reaches an existing cluster), and
* the workloads on that cluster (``_build_workloads``), identical for both platforms,
  which only see a ClusterAccess and, on aws, the AwsServices contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi

from components.config_loader import LoadedConfig
from components.contracts import AwsServices, ClusterAccess
from components.existing_cluster import ExistingCluster, ExistingClusterArgs
from components.namespace import airlock_namespace
from components.naming import (
    EGRESS_NAMESPACE,
    MODELS_NAMESPACE,
    ORCHESTRATOR_NAMESPACE,
    TELEMETRY_NAMESPACE,
    sandbox_namespace,
)


@dataclass(frozen=True)
class AgentPlatformArgs:
    loaded: LoadedConfig


class AgentPlatform(pulumi.ComponentResource):
    cluster: ClusterAccess
    aws: Optional[AwsServices]
    outputs: dict[str, pulumi.Input]

    def __init__(self, name: str, args: AgentPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:platform:AgentPlatform", name, None, opts)
        loaded = args.loaded
        self.outputs = {"platform": loaded.config.platform, "profile": loaded.config.profile}
        self.aws = None
        if loaded.config.platform == "aws":
            self._build_aws(loaded)
        else:
            self._build_existing(loaded)
        self._build_workloads(loaded)
        self.register_outputs(self.outputs)

    # ------------------------------------------------------------------ base

    def _build_aws(self, loaded: LoadedConfig) -> None:
        # Imported here so a kubernetes-platform stack never loads the AWS SDK.
        from components.aws.cluster import EksCluster, EksClusterArgs
        from components.aws.network import Network, NetworkArgs

        child = pulumi.ResourceOptions(parent=self)
        network = Network("network", NetworkArgs(loaded), child)
        eks = EksCluster("cluster", EksClusterArgs(loaded, network), child)
        self.cluster = eks.access
        self.outputs.update(
            {
                "vpcId": network.vpc.id,
                "clusterName": eks.cluster.name,
                "clusterEndpoint": eks.cluster.endpoint,
                "kubeconfig": eks.kubeconfig,
            }
        )

    def _build_existing(self, loaded: LoadedConfig) -> None:
        existing = ExistingCluster("cluster", ExistingClusterArgs(loaded), pulumi.ResourceOptions(parent=self))
        self.cluster = existing.access
        self.outputs["clusterName"] = existing.access.name

    # ------------------------------------------------------------------ workloads

    def _build_workloads(self, loaded: LoadedConfig) -> None:
        config = loaded.config
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=self.cluster.provider, depends_on=self.cluster.ready)
        version = self.cluster.kubernetes_version
        airlock_namespace("orchestrator", ORCHESTRATOR_NAMESPACE, "orchestrator", version, k8s_opts)
        airlock_namespace("telemetry", TELEMETRY_NAMESPACE, "telemetry", version, k8s_opts)
        if config.models:
            airlock_namespace("models", MODELS_NAMESPACE, "model-server", version, k8s_opts)
        if config.egress_proxy.enabled:
            airlock_namespace("egress", EGRESS_NAMESPACE, "egress-proxy", version, k8s_opts)
        for sandbox in config.sandboxes:
            airlock_namespace(f"sandbox-{sandbox.name}", sandbox_namespace(sandbox.name), "sandbox", version, k8s_opts)
