"""ModelServing (namespace airlock-models) and one ModelServer (vLLM) per configured model.

ModelServing owns what the models share: the namespace and its NetworkPolicies, the
service account, the generated API key (``VLLM_API_KEY``) and the Hugging Face token.
Each ModelServer owns its Deployment (on its GPU pool), cache volume, Service (stable
name = served model name), PodDisruptionBudget and, when enabled, KEDA ScaledObject.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.config.load_time import disk_seconds_per_gib
from components.config.schema import GpuPoolConfig, ModelConfig, SecretConfig
from components.workloads.contracts import AwsServices
from components.workloads.labels import Role, labels, selector
from components.config.naming import (
    EGRESS_NAMESPACE,
    MODEL_SERVER_SERVICE_ACCOUNT,
    MODELS_NAMESPACE,
    ORCHESTRATOR_NAMESPACE,
    model_service_url,
)
from components.config.sizing import most_replicas
from components.workloads.scheduling import PoolScheduling, pool_scheduling
from components.workloads import vllm
from components.workloads.context import WorkloadContext
from components.config.endpoints import parse_endpoint
from components.workloads.endpoints import (
    VLLM_PORT,
    model_server_pods,
    orchestrator_pods,
    proxy_pods,
)
from components.workloads.network_policies import dns_egress_rule, namespace_peer, policy_spec, tcp, with_aws_endpoints
from components.workloads.pod_security import Spec, container, deployment_spec, metadata, pod_spec
from components.workloads.scope import NamespaceScope, owned_namespace

ROLE: Role = "model-server"
MODEL_LABEL = "airlock.dev/model"


@dataclass(frozen=True)
class ModelServingArgs:
    context: WorkloadContext
    models: Sequence[ModelConfig]
    # The pools the models name (scheduling), and the stack's secrets (the Hugging Face token).
    gpu_pools: Sequence[GpuPoolConfig]
    secrets: Sequence[SecretConfig]


class ModelServing(pulumi.ComponentResource):
    """The models namespace and everything its model servers share."""

    namespace: k8s.core.v1.Namespace
    api_key: pulumi.Output[str]
    servers: list["ModelServer"]
    service_urls: dict[str, str]

    def __init__(self, name: str, args: ModelServingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:workloads:ModelServing", name, None, opts)
        ctx, models = args.context, args.models
        scope = owned_namespace(self, name, MODELS_NAMESPACE, ROLE, ctx.kubernetes_version, ctx.cluster_ready)
        self.namespace = scope.namespace
        self._policies(name, ctx, models, scope)

        # IRSA: S3 weights are read with the model servers' own role, nothing else's.
        role_arn = ctx.aws.model_server_role_arn if ctx.aws is not None else None
        account = scope.service_account(f"{name}-account", MODEL_SERVER_SERVICE_ACCOUNT, MODEL_SERVER_SERVICE_ACCOUNT, role_arn)

        # One key for the stack's model servers; the orchestrator gets a copy in its namespace.
        password = random.RandomPassword(f"{name}-api-key", length=48, special=False, opts=pulumi.ResourceOptions(parent=self))
        self.api_key = pulumi.Output.secret(password.result)
        api_key_secret = k8s.core.v1.Secret(
            f"{name}-api-key",
            metadata=metadata(vllm.API_KEY_SECRET, scope.name, ROLE, "vllm"),
            type="Opaque",
            string_data={vllm.API_KEY_KEY: self.api_key},
            opts=scope.opts,
        )
        shared: list[pulumi.Resource] = [self.namespace, account, api_key_secret]
        hub = vllm.HubAccess.of(ctx.profile, args.secrets)
        hf_token = self._hf_token(name, hub, models, args.secrets, scope, ctx.aws)
        if hf_token is not None:
            shared.append(hf_token)

        pools = {pool.name: pool_scheduling(pool, ctx.platform) for pool in args.gpu_pools}
        pool_configs = {pool.name: pool for pool in args.gpu_pools}
        self.servers = [
            ModelServer(
                f"{name}-{model.name}",
                ModelServerArgs(
                    ctx, model, pools[model.pool], hub, scope, shared,
                    disk_seconds_per_gib(model, pool_configs[model.pool], ctx.platform),
                ),
                pulumi.ResourceOptions(parent=self),
            )
            for model in models
        ]
        self.service_urls = {model.name: model_service_url(model.name) for model in models}
        self.register_outputs({"namespace": scope.name, "serviceUrls": self.service_urls})

    def _hf_token(
        self,
        name: str,
        hub: vllm.HubAccess,
        models: Sequence[ModelConfig],
        secrets: Sequence[SecretConfig],
        scope: NamespaceScope,
        aws: AwsServices | None = None,
    ) -> k8s.core.v1.Secret | None:
        if not any(vllm.hf_token_applies(hub, m) for m in models):
            return None
        entry = next(s for s in secrets if s.name == vllm.HF_TOKEN_ENTRY)
        synced = aws.synced_secret_values.get(entry.name) if aws is not None else None
        if synced is not None:
            # aws: read from Secrets Manager on every `pulumi up`, so a token filled or
            # rotated there (never through Pulumi) reaches the model servers too.
            return k8s.core.v1.Secret(
                f"{name}-hf-token",
                metadata=metadata(vllm.HF_TOKEN_SECRET, scope.name, ROLE, "vllm"),
                type="Opaque",
                string_data={"token": synced},
                opts=scope.opts,
            )
        if entry.value is None:
            pulumi.log.warn(
                f"secrets entry '{entry.name}' has no value in the stack config: model servers start without a Hugging "
                f"Face token (gated repositories fail) until Secret '{vllm.HF_TOKEN_SECRET}' (key token) exists in "
                f"namespace {MODELS_NAMESPACE}",
                self,
            )
            return None
        return k8s.core.v1.Secret(
            f"{name}-hf-token",
            metadata=metadata(vllm.HF_TOKEN_SECRET, scope.name, ROLE, "vllm"),
            type="Opaque",
            string_data={"token": pulumi.Output.secret(entry.value.get_secret_value())},
            opts=scope.opts,
        )

    def _policies(self, name: str, ctx: WorkloadContext, models: Sequence[ModelConfig], scope: NamespaceScope) -> None:
        # The runtime calls the models; Prometheus (for KEDA) scrapes /metrics on the same port.
        callers = [namespace_peer(ORCHESTRATOR_NAMESPACE, orchestrator_pods())]
        callers += [namespace_peer(scraper) for scraper in sorted(prometheus_namespaces(models))]
        ingress = [{"from": callers, "ports": tcp(VLLM_PORT)}]
        scope.policy(f"{name}-ingress", "model-server-ingress", policy_spec(model_server_pods(), ingress=ingress))

        egress: list[Spec] = [dns_egress_rule(ctx.dns)]
        proxy = ctx.proxy_client("models")
        if proxy is not None:
            egress.append({"to": [namespace_peer(EGRESS_NAMESPACE, proxy_pods())], "ports": tcp(proxy.port)})
        rules: pulumi.Input[list[Spec]] = egress
        if ctx.platform == "aws" and any(m.weights_source == "s3" for m in models):
            # S3 weights: STS (IRSA) and S3, both over their interface endpoints.
            rules = with_aws_endpoints(egress, ctx.private_subnets)
        scope.policy(f"{name}-egress", "model-server-egress", policy_spec(model_server_pods(), egress=rules))


def prometheus_namespaces(models: Sequence[ModelConfig]) -> set[str]:
    """Namespaces of the Prometheus servers that KEDA queries (they scrape the model servers)."""
    found = set()
    for model in models:
        if model.autoscaling.enabled:
            endpoint = parse_endpoint(model.autoscaling.prometheus_url)
            if endpoint.namespace:
                found.add(endpoint.namespace)
    return found


@dataclass(frozen=True)
class ModelServerArgs:
    context: WorkloadContext
    model: ModelConfig
    # Where the replicas run: the node selector and tolerations of the model's GPU pool.
    pool: PoolScheduling
    hub: vllm.HubAccess
    namespace: NamespaceScope
    # The namespace-level objects (account, API key) the pods need before they start.
    depends_on: list[pulumi.Resource]
    # How long the node's disk takes per GiB of weights (components.config.load_time).
    disk_seconds_per_gib: float = 0.0


class ModelServer(pulumi.ComponentResource):
    deployment: k8s.apps.v1.Deployment
    service: k8s.core.v1.Service

    def __init__(self, name: str, args: ModelServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:workloads:ModelServer", name, None, opts)
        ctx, model = args.context, args.model
        scope = args.namespace.within(self, *args.depends_on)
        scheduling = args.pool
        pods = selector(ROLE, model.name)
        extra = {MODEL_LABEL: model.name}

        claim = None
        if model.cache.type == "pvc" and not model.cache.existing_claim:
            claim = self._cache_claim(name, model, scope)
        cache = vllm.cache_volume(model, f"{model.name}-cache" if claim else None)
        volumes, mounts = vllm.volumes_and_mounts(args.hub, model, cache)
        probes = vllm.probes(model, args.disk_seconds_per_gib)
        region = ctx.aws.region if ctx.aws is not None else None
        server = container(
            "vllm",
            ctx.image("vllm"),
            vllm.resources(model, cache),
            command=["vllm", "serve"],
            args=vllm.vllm_args(model),
            ports=[("http", VLLM_PORT)],
            env=vllm.environment(args.hub, model, ctx.proxy_client("models"), region),
            mounts=mounts,
            startup=probes["startup"],
            readiness=probes["readiness"],
            liveness=probes["liveness"],
        )
        pod = pod_spec(
            service_account=MODEL_SERVER_SERVICE_ACCOUNT,
            containers=[server],
            volumes=volumes,
            uid=vllm.VLLM_UID,
            node_selector=scheduling.node_selector,
            tolerations=scheduling.tolerations,
            spread_labels=pods if model.replicas > 1 or model.autoscaling.enabled else None,
            termination_grace_seconds=60,
        )
        autoscaled = model.autoscaling.enabled
        # Pulumi waits for the rollout; give it the whole start-up budget, not its 10-minute default.
        timeout = vllm.startup_seconds(model, args.disk_seconds_per_gib) + 600
        deployment_meta = metadata(model.name, scope.name, ROLE, model.name, **extra)
        deployment_meta["annotations"] = {"pulumi.com/timeoutSeconds": str(timeout)}
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=deployment_meta,
            spec=deployment_spec(
                pods,
                labels(ROLE, model.name, **extra),
                pod,
                # With KEDA the replica count belongs to the autoscaler, never reset by a deploy.
                replicas=None if autoscaled else model.replicas,
                pod_annotations={
                    "prometheus.io/scrape": "true",
                    "prometheus.io/port": str(VLLM_PORT),
                    "prometheus.io/path": "/metrics",
                    "airlock.dev/model-revision": model.revision,
                },
                # GPUs are the scarce resource: replace pods one at a time instead of surging
                # onto GPUs the pool may not have.
                max_surge=0,
                max_unavailable=1,
            ),
            opts=scope.after(claim) if claim else scope.opts,
        )
        self.service = scope.service(f"{name}-service", model.name, model.name, pods, [("http", VLLM_PORT)], **extra)
        if model.replicas > 1:  # a budget over one pod (maxUnavailable 1) protects nothing
            scope.disruption_budget(f"{name}-pdb", model.name, model.name, pods, **extra)
        if autoscaled:
            k8s.apiextensions.CustomResource(
                f"{name}-scaler",
                api_version="keda.sh/v1alpha1",
                kind="ScaledObject",
                metadata=metadata(model.name, scope.name, ROLE, model.name, **extra),
                spec=scaled_object_spec(model),
                opts=scope.after(self.deployment),
            )
        self.register_outputs({"serviceUrl": model_service_url(model.name), "deployment": self.deployment.metadata.name})

    def _cache_claim(self, name: str, model: ModelConfig, scope: NamespaceScope) -> k8s.core.v1.PersistentVolumeClaim:
        most = most_replicas(model)
        spec: Spec = {
            # Shared by every replica; more than one needs a ReadWriteMany class (a config rule warns).
            "accessModes": ["ReadWriteMany" if most > 1 else "ReadWriteOnce"],
            "resources": {"requests": {"storage": f"{model.cache.size_gib}Gi"}},
        }
        if model.cache.storage_class:
            spec["storageClassName"] = model.cache.storage_class
        meta = metadata(f"{model.name}-cache", scope.name, ROLE, model.name, **{MODEL_LABEL: model.name})
        return k8s.core.v1.PersistentVolumeClaim(f"{name}-cache", metadata=meta, spec=spec, opts=scope.opts)


def scaled_object_spec(model: ModelConfig) -> Spec:
    """KEDA's prometheus scaler on vLLM's queue depth: one replica per ``threshold`` waiting requests."""
    autoscaling = model.autoscaling
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": model.name},
        "minReplicaCount": model.replicas,
        "maxReplicaCount": most_replicas(model),
        "pollingInterval": autoscaling.polling_interval_seconds,
        "cooldownPeriod": autoscaling.cooldown_seconds,
        "triggers": [
            {
                "type": "prometheus",
                "metricType": "AverageValue",
                "metadata": {
                    "serverAddress": autoscaling.prometheus_url,
                    "query": f'sum(vllm:num_requests_waiting{{model_name="{model.name}"}})',
                    "threshold": str(autoscaling.waiting_requests_threshold),
                },
            }
        ],
    }
