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

import pulumi

from components.config.loader import LoadedConfig
from components.workloads.contracts import AwsServices, ClusterAccess
from components.existing_cluster import ExistingCluster, ExistingClusterArgs
from components.config.naming import sandbox_namespace


@dataclass(frozen=True)
class AgentPlatformArgs:
    loaded: LoadedConfig


class AgentPlatform(pulumi.ComponentResource):
    cluster: ClusterAccess
    aws: AwsServices | None
    outputs: dict[str, pulumi.Input]

    def __init__(self, name: str, args: AgentPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:platform:AgentPlatform", name, None, opts)
        loaded = args.loaded
        self.outputs = {"platform": loaded.config.platform, "profile": loaded.config.profile}
        self.aws = None
        self.outputs["deployPhase"] = loaded.config.deploy_phase
        if loaded.config.platform == "aws":
            self._build_aws(loaded)
        else:
            self._build_existing(loaded)
        # Bootstrap: nothing that pulls an image until the images are in the registry.
        if loaded.config.deploy_phase == "full":
            self._build_workloads(loaded)
        self.register_outputs(self.outputs)

    # ------------------------------------------------------------------ base

    def _build_aws(self, loaded: LoadedConfig) -> None:
        # Imported here so a kubernetes-platform stack never loads the AWS SDK.
        from components.aws.account import AwsAccount
        from components.aws.bedrock import grant_bedrock_models
        from components.aws.cluster import EksCluster, EksClusterArgs
        from components.aws.device_plugin import NvidiaDevicePlugin, NvidiaDevicePluginArgs, nvidia_runtime_class
        from components.aws.gpu_node_pool import GpuNodePool, GpuNodePoolArgs, ships_device_plugin
        from components.aws.iam import ServiceAccountRef
        from components.aws.keda_access import keda_queue_reader
        from components.aws.kms import EncryptionKey, EncryptionKeyArgs, logs_service_statement
        from components.aws.log_groups import log_group_arn, platform_log_groups
        from components.aws.model_weights import ModelWeightsReader, ModelWeightsReaderArgs, weights_locations
        from components.aws.network import Network, NetworkArgs
        from components.aws.registry import Registry, RegistryArgs
        from components.aws.runtime_stores import RuntimeStores, RuntimeStoresArgs
        from components.aws.secret_store import SecretStore, SecretStoreArgs
        from components.aws.secret_values import current_secret_string
        from components.workloads.vllm import HF_TOKEN_ENTRY
        from components.aws.stack import AwsStack
        from components.aws.storage import default_storage_class
        from components.config.images import resolve_image
        from components.config.naming import ORCHESTRATOR_NAMESPACE, ORCHESTRATOR_SERVICE_ACCOUNT

        config = loaded.config
        # Each AWS component gets the stack's names and tags plus the config it builds from.
        stack = AwsStack.of(loaded)
        assert config.network is not None and config.system_pool is not None, "the defaults set both on aws"
        child = pulumi.ResourceOptions(parent=self)
        account = AwsAccount.current(stack.region)

        # One key for the logs AWS writes (flow logs, control plane), usable by CloudWatch
        # Logs for exactly those groups.
        logs_key = EncryptionKey(
            "logs-key",
            EncryptionKeyArgs(
                stack,
                account,
                purpose="logs",
                description="VPC flow logs and EKS control-plane logs",
                via_services=("logs",),
                service_statements=[
                    logs_service_statement(account, [log_group_arn(account, g) for g in platform_log_groups(stack)])
                ],
            ),
            child,
        )
        network = Network("network", NetworkArgs(stack, config.network, account, logs_key.arn), child)
        eks = EksCluster(
            "cluster", EksClusterArgs(stack, config.cluster, config.system_pool, account, network, logs_key.arn), child
        )
        registry = Registry("registry", RegistryArgs(stack, account), child)
        orchestrator = eks.irsa_role(
            "orchestrator",
            [ServiceAccountRef(ORCHESTRATOR_NAMESPACE, ORCHESTRATOR_SERVICE_ACCOUNT)],
            "Agent runtime: its secrets, work queue, state table and audit bucket",
        )
        secrets = SecretStore("secrets", SecretStoreArgs(stack, config.secrets, account, orchestrator.role), child)
        self.outputs.update(
            {
                "vpcId": network.vpc.id,
                "privateSubnetIds": [s.id for s in network.private_subnets],
                "clusterName": eks.cluster.name,
                "clusterEndpoint": eks.cluster.endpoint,
                "kubeconfig": eks.kubeconfig,
                "registryUrls": registry.repository_urls,
                "secretArns": secrets.secret_arns,
            }
        )
        if config.deploy_phase == "bootstrap":
            # Network, cluster, registry and secret store: enough to push images and fill
            # secrets before the full deploy starts pods that need them (docs/aws.md).
            return
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=eks.provider, depends_on=eks.node_prerequisites)

        gpu_pools = [
            GpuNodePool(
                f"gpu-{pool.name}",
                GpuNodePoolArgs(
                    stack=stack,
                    pool=pool,
                    cluster_name=eks.cluster.name,
                    node_role_arn=eks.node_role.arn,
                    subnet_ids=[s.id for s in network.private_subnets],
                    depends_on=eks.node_prerequisites,
                    zones=list(config.network.availability_zones or []) if config.network else [],
                ),
                child,
            )
            for pool in config.gpu_pools
        ]
        gpu_ready: list[pulumi.Resource] = [p.node_group for p in gpu_pools]
        if config.gpu_pools:
            gpu_ready.append(nvidia_runtime_class("nvidia-runtime-class", k8s_opts))
        plugin_pools = [p.name for p in config.gpu_pools if not ships_device_plugin(p.ami_type)]
        if plugin_pools:
            plugin = NvidiaDevicePlugin(
                "nvidia-device-plugin",
                NvidiaDevicePluginArgs(
                    image=resolve_image(config.images, "nvidia_device_plugin", registry.repository_urls),
                    pools=plugin_pools,
                ),
                k8s_opts,
            )
            gpu_ready.append(plugin.daemon_set)
        storage_class = default_storage_class(
            "default-storage-class", pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=eks.cluster_services))
        )

        grant_bedrock_models("orchestrator-bedrock", config.cloud_models, account, orchestrator.role, child)
        stores = RuntimeStores(
            "runtime-stores",
            RuntimeStoresArgs(stack, account, orchestrator.role, config.orchestrator.audit_retention_days),
            child,
        )
        keda_role = None
        if config.orchestrator.autoscaling.enabled:
            keda_role = keda_queue_reader(
                "keda-operator", eks, config.orchestrator.autoscaling.keda_namespace, stores.queue, child
            )
        weights = (
            ModelWeightsReader(
                "model-weights",
                ModelWeightsReaderArgs(stack, config.models, account, eks.oidc_provider.arn, eks.oidc_issuer),
                child,
            )
            if weights_locations(config.models)
            else None
        )

        self.cluster = ClusterAccess(
            provider=eks.provider,
            name=eks.cluster.name,
            kubernetes_version=config.cluster.kubernetes_version,
            oidc_provider_arn=eks.oidc_provider.arn,
            oidc_issuer=eks.oidc_issuer,
            ready=[eks.system_nodes, *eks.node_prerequisites, *eks.cluster_services, storage_class, *gpu_ready],
        )
        self.aws = AwsServices(
            region=stack.region,
            account_id=account.id,
            orchestrator_role_arn=orchestrator.arn,
            secret_arns=secrets.secret_arns,
            synced_secret_values={
                entry: current_secret_string(secrets.current_value_ids[entry], child)
                for entry in (HF_TOKEN_ENTRY,)
                # Only where a model downloads from the Hub: reading an empty entry would fail.
                if entry in secrets.current_value_ids and any(m.weights_source == "huggingface" for m in config.models)
            },
            registry_urls=registry.repository_urls,
            queue_url=stores.queue.url,
            dead_letter_queue_url=stores.dead_letter_queue.url,
            checkpoint_table=stores.table.name,
            audit_bucket=stores.audit_bucket.bucket.bucket,
            payload_bucket=stores.payload_bucket.bucket.bucket,
            model_server_role_arn=weights.role.arn if weights else None,
        )
        self.outputs.update(
            {
                "oidcProviderArn": eks.oidc_provider.arn,
                "workQueueUrl": stores.queue.url,
                "deadLetterQueueUrl": stores.dead_letter_queue.url,
                "stateTableName": stores.table.name,
                "auditBucketName": stores.audit_bucket.bucket.bucket,
                "auditLogBucketName": stores.audit_log_bucket.bucket.bucket,
                "payloadBucketName": stores.payload_bucket.bucket.bucket,
                "orchestratorRoleArn": orchestrator.arn,
                **({"kedaOperatorRoleArn": keda_role.arn} if keda_role is not None else {}),
                "nodeRoleArn": eks.node_role.arn,
                # What workloads of your own must use to land on each GPU pool.
                "gpuPools": {
                    pool.name: {"nodeSelector": group.node_selector, "tolerations": group.tolerations}
                    for pool, group in zip(config.gpu_pools, gpu_pools)
                },
            }
        )
        if weights is not None:
            self.outputs["modelServerRoleArn"] = weights.role.arn

    def _build_existing(self, loaded: LoadedConfig) -> None:
        existing = ExistingCluster("cluster", ExistingClusterArgs(loaded.config.cluster), pulumi.ResourceOptions(parent=self))
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
        context = WorkloadContext.of(config, self.cluster.kubernetes_version, self.aws, self.cluster.ready)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=self.cluster.provider, depends_on=self.cluster.ready)

        telemetry = Observability("telemetry", ObservabilityArgs(context, config.observability, config.secrets), k8s_opts)
        proxy_ip = None
        if config.egress_proxy.enabled:
            proxy_ip = EgressProxy("egress", EgressProxyArgs(context, config.egress_proxy), k8s_opts).cluster_ip
        model_api_key = None
        if config.models:
            serving = ModelServing(
                "models", ModelServingArgs(context, config.models, config.gpu_pools, config.secrets), k8s_opts
            )
            model_api_key = serving.api_key
            self.outputs["modelServiceUrls"] = serving.service_urls
        runtime_class = None
        if any(s.isolation == "gvisor" for s in config.sandboxes):
            runtime_class = gvisor_runtime_class("gvisor", k8s_opts)
        for sandbox in config.sandboxes:
            Sandbox(
                f"sandbox-{sandbox.name}",
                SandboxArgs(context, sandbox, runtime_class if sandbox.isolation == "gvisor" else None, proxy_ip),
                k8s_opts,
            )
        assert config.orchestrator.agent_spec is not None, "the defaults set agentSpec"
        orchestrator = Orchestrator(
            "orchestrator",
            OrchestratorArgs(
                context,
                stack=loaded.stack,
                orchestrator=config.orchestrator,
                agent_spec=loaded.project_dir / config.orchestrator.agent_spec,
                models=config.models,
                cloud_models=config.cloud_models,
                sandboxes=config.sandboxes,
                secrets=config.secrets,
                capture_message_content=config.observability.capture_message_content,
                model_api_key=model_api_key,
            ),
            k8s_opts,
        )
        self.outputs.update(
            {
                "agentVersion": orchestrator.agent_version,
                "otlpEndpoint": telemetry.otlp_http_url,
                "sandboxNamespaces": [sandbox_namespace(s.name) for s in config.sandboxes],
            }
        )
