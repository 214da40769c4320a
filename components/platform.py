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
from components.naming import sandbox_namespace


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
        """One component per namespace; each owns its namespace and its NetworkPolicies."""
        # Imported here so the workload modules (and pulumi_random) load only when needed.
        from components.workloads.context import WorkloadContext
        from components.workloads.egress_proxy import EgressProxy, EgressProxyArgs
        from components.workloads.model_server import ModelServing, ModelServingArgs
        from components.workloads.observability import Observability, ObservabilityArgs
        from components.workloads.orchestrator import Orchestrator, OrchestratorArgs
        from components.workloads.sandbox import Sandbox, SandboxArgs, gvisor_runtime_class

        config = loaded.config
        # Not yet part of AwsServices: the S3/DynamoDB gateway endpoints' prefix-list CIDRs.
        # Until the AWS base provides them, pods reach only the interface endpoints.
        gateway_cidrs = getattr(self.aws, "gateway_endpoint_cidrs", None)
        if self.aws is not None and gateway_cidrs is None:
            pulumi.log.warn(
                "the AWS base provides no gateway_endpoint_cidrs: the orchestrator's NetworkPolicy cannot admit S3 "
                "(audit records) and DynamoDB (checkpoints), nor model servers' S3 weights; see docs/workloads.md",
                self,
            )
        context = WorkloadContext(loaded, self.cluster.kubernetes_version, self.aws, gateway_cidrs, self.cluster.ready)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=self.cluster.provider, depends_on=self.cluster.ready)

        telemetry = Observability("telemetry", ObservabilityArgs(context), k8s_opts)
        if config.egress_proxy.enabled:
            EgressProxy("egress", EgressProxyArgs(context), k8s_opts)
        model_api_key = None
        if config.models:
            serving = ModelServing("models", ModelServingArgs(context), k8s_opts)
            model_api_key = serving.api_key
            self.outputs["modelServiceUrls"] = serving.service_urls
        runtime_class = None
        if any(s.isolation == "gvisor" for s in config.sandboxes):
            runtime_class = gvisor_runtime_class("gvisor", k8s_opts)
        for sandbox in config.sandboxes:
            Sandbox(
                f"sandbox-{sandbox.name}",
                SandboxArgs(context, sandbox, runtime_class if sandbox.isolation == "gvisor" else None),
                k8s_opts,
            )
        orchestrator = Orchestrator("orchestrator", OrchestratorArgs(context, model_api_key), k8s_opts)
        self.outputs.update(
            {
                "agentVersion": orchestrator.agent_version,
                "otlpEndpoint": telemetry.otlp_http_url,
                "sandboxNamespaces": [sandbox_namespace(s.name) for s in config.sandboxes],
            }
        )
