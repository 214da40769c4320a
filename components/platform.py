"""AgentPlatform: the whole stack, built from one validated config.

Data flows one way: LoadedConfig -> AgentPlatform -> child components -> resources.
The platform decides only *which* components exist and wires their outputs together;
each component owns its resources.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.config_loader import LoadedConfig
from components.contracts import ClusterAccess
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
    outputs: dict[str, pulumi.Input]

    def __init__(self, name: str, args: AgentPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:platform:AgentPlatform", name, None, opts)
        loaded = args.loaded
        config = loaded.config
        child = pulumi.ResourceOptions(parent=self)
        self.outputs = {"platform": config.platform, "profile": config.profile}

        if config.platform == "aws":
            # Imported here so a kubernetes-platform stack never loads the AWS SDK.
            from components.aws.cluster import EksCluster, EksClusterArgs
            from components.aws.network import Network, NetworkArgs

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
        else:
            existing = ExistingCluster("cluster", ExistingClusterArgs(loaded), child)
            self.cluster = existing.access
            self.outputs["clusterName"] = existing.access.name

        k8s_opts = pulumi.ResourceOptions(parent=self, provider=self.cluster.provider, depends_on=self.cluster.ready)
        version = self.cluster.kubernetes_version
        airlock_namespace("orchestrator", ORCHESTRATOR_NAMESPACE, "orchestrator", version, k8s_opts)
        airlock_namespace("telemetry", TELEMETRY_NAMESPACE, "telemetry", version, k8s_opts)
        if config.models:
            # vLLM needs a memory-backed /dev/shm and GPU devices but nothing privileged.
            airlock_namespace("models", MODELS_NAMESPACE, "model-server", version, k8s_opts)
        if config.egress_proxy.enabled:
            airlock_namespace("egress", EGRESS_NAMESPACE, "egress-proxy", version, k8s_opts)
        for sandbox in config.sandboxes:
            airlock_namespace(f"sandbox-{sandbox.name}", sandbox_namespace(sandbox.name), "sandbox", version, k8s_opts)

        self.register_outputs(self.outputs)
