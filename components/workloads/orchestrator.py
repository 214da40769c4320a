"""Orchestrator (namespace airlock-orchestrator): the agent runtime's Kubernetes side.

The runtime Deployment (non-root, read-only root filesystem, pinned image) with the agent
spec as an immutable ConfigMap whose content hash is the agent version, credentials as
mounted files (a Secret on platform 'kubernetes'; on aws a map of Secrets Manager ARNs the
runtime reads with its IRSA role), and an egress policy naming every peer it may reach:
the model servers, the sandbox executors, DNS, the collector, the AWS endpoints (aws) and
its own port on the egress proxy (cloud, hybrid). Runtime contract: docs/workloads.md.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from components.config.schema import CloudModelConfig, ModelConfig, OrchestratorConfig, SandboxConfig, SecretConfig
from components.workloads.labels import Role, labels
from components.config.naming import (
    EGRESS_NAMESPACE,
    MODELS_NAMESPACE,
    ORCHESTRATOR_NAMESPACE,
    ORCHESTRATOR_SERVICE_ACCOUNT,
    TELEMETRY_NAMESPACE,
    model_service_url,
    sandbox_namespace,
)
from components.workloads.agent_spec import AGENT_VERSION_LABEL, deployed_spec
from components.workloads.context import WorkloadContext
from components.workloads.endpoints import (
    NO_PROXY,
    OTLP_GRPC_PORT,
    OTLP_HTTP_PORT,
    ORCHESTRATOR_APP,
    ORCHESTRATOR_PORT,
    VLLM_PORT,
    EXECUTOR_PORT,
    collector_otlp_http_url,
    collector_pods,
    executor_pods,
    executor_url,
    model_server_pods,
    orchestrator_pods,
    proxy_pods,
    proxy_url,
)
from components.workloads.network_policies import dns_egress_rule, namespace_peer, policy_spec, tcp, with_aws_endpoints
from components.workloads.pod_security import (
    Resources,
    Spec,
    container,
    deployment_spec,
    empty_dir,
    env_from_secret,
    env_value,
    http_get,
    metadata,
    mount,
    pod_spec,
)
from components.workloads.orchestrator_scaling import queue_autoscaler
from components.workloads.runtime_store import cnpg_cluster, cnpg_policies, database_egress, store_wiring
from components.workloads.scope import NamespaceScope, owned_namespace
from components.workloads.vllm import API_KEY_KEY
from runtime import contract

ROLE: Role = "orchestrator"
# Port, probes, paths, variable names and the drain period: the runtime's own contract.
RUNTIME_UID = contract.RUNTIME_UID
AGENT_DIR = contract.AGENT_DIR
SECRETS_DIR = contract.SECRETS_DIR
SECRET_ARNS_DIR = contract.SECRET_ARNS_DIR
STATE_DIR = contract.STATE_DIR
MODEL_API_KEY_SECRET = "model-api-key"
SECRETS_SECRET = "orchestrator-secrets"
# Namespaces labelled with this may call the runtime's API (an ingress controller, Prometheus).
# Labelling a namespace takes cluster-level rights, so this is an explicit, audited opening.
API_CLIENT_LABEL = "airlock.dev/orchestrator-client"
# AWS APIs the runtime calls directly (all through interface endpoints in the private
# subnets), never through the egress proxy.
AWS_DIRECT_SERVICES = ("sts", "secretsmanager", "kms", "sqs", "logs", "dynamodb", "s3")


def aws_direct_hosts(region: str) -> list[str]:
    hosts = [f"{service}.{region}.amazonaws.com" for service in AWS_DIRECT_SERVICES]
    return hosts + [f".s3.{region}.amazonaws.com"]  # virtual-hosted bucket names


def model_routes(models: Sequence[ModelConfig], cloud_models: Sequence[CloudModelConfig]) -> dict[str, dict[str, str]]:
    """Every model route the agent spec may name: local vLLM Services and cloud APIs."""
    routes = {m.name: {"provider": "openai", "baseUrl": model_service_url(m.name), "model": m.name} for m in models}
    for cloud_model in cloud_models:
        route = {"provider": cloud_model.provider, "baseUrl": cloud_model.base_url or "", "model": cloud_model.model}
        if cloud_model.api_key_secret:
            route["apiKeySecret"] = cloud_model.api_key_secret
        routes[cloud_model.name] = route
    return routes


@dataclass(frozen=True)
class OrchestratorArgs:
    context: WorkloadContext
    # The stack's name: AIRLOCK_STACK and the OpenTelemetry deployment environment.
    stack: str
    orchestrator: OrchestratorConfig
    # The agent spec the runtime runs (orchestrator.agentSpec, under the project directory).
    agent_spec: Path
    # The routes the agent spec may name, and the sandbox pools it may run code in.
    models: Sequence[ModelConfig]
    cloud_models: Sequence[CloudModelConfig]
    sandboxes: Sequence[SandboxConfig]
    # Tool credentials (the stack's secrets) and whether traces carry message content.
    secrets: Sequence[SecretConfig]
    capture_message_content: bool
    # The model servers' API key (secret), when the stack serves local models.
    model_api_key: pulumi.Input[str] | None = None


class Orchestrator(pulumi.ComponentResource):
    namespace: k8s.core.v1.Namespace
    agent_version: str

    def __init__(self, name: str, args: OrchestratorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:workloads:Orchestrator", name, None, opts)
        ctx = args.context
        scope = owned_namespace(self, name, ORCHESTRATOR_NAMESPACE, ROLE, ctx.kubernetes_version, ctx.cluster_ready)
        self.namespace = scope.namespace
        self._policies(name, args, scope)

        spec_file = args.agent_spec
        spec = deployed_spec(spec_file, args.models, ctx.profile)
        self.agent_version = version = spec.version
        # Immutable and named by version: pods of the previous version keep the spec they
        # were started with while a rollout replaces them.
        agent_spec = k8s.core.v1.ConfigMap(
            f"{name}-agent-spec",
            metadata=metadata(f"agent-spec-{version}", scope.name, ROLE, ORCHESTRATOR_APP, **{AGENT_VERSION_LABEL: version}),
            data={"agent.yaml": spec.text},
            immutable=True,
            opts=scope.opts,
        )
        role_arn = ctx.aws.orchestrator_role_arn if ctx.aws is not None else None
        account = scope.service_account(f"{name}-account", ORCHESTRATOR_SERVICE_ACCOUNT, ORCHESTRATOR_APP, role_arn)
        prerequisites: list[pulumi.Resource] = [agent_spec, account]
        volumes: list[Spec] = [
            {"name": "agent-spec", "configMap": {"name": agent_spec.metadata.name, "defaultMode": 0o444}},
            empty_dir("tmp", "256Mi"),
            empty_dir("state", "1Gi"),
            # API bearer tokens (hashes only), made with `airlock-runtime token create`: docs/api.md.
            {"name": "api-tokens", "secret": {"secretName": contract.API_TOKENS_SECRET, "defaultMode": 0o440}},
        ]
        mounts = [
            mount("agent-spec", AGENT_DIR, read_only=True),
            mount("tmp", contract.TMP_DIR),
            mount("state", STATE_DIR),
            mount("api-tokens", contract.API_TOKENS_DIR, read_only=True),
        ]
        env = self._env(args)
        env.append(env_value(contract.AGENT_VERSION_ENV, self.agent_version))
        store = args.orchestrator.store
        wiring = store_wiring(store, ctx.aws)
        env += wiring.env
        volumes += wiring.volumes
        mounts += wiring.mounts
        if store.kind == "cloudnativepg":
            cnpg_policies(name, args.orchestrator, ctx.dns, scope)
            # The runtime retries until its database answers; the Cluster only has to be applied first.
            prerequisites.append(cnpg_cluster(name, args.orchestrator, ctx.images, scope))

        credentials = self._credentials(name, ctx, args.secrets, scope)
        if credentials is not None:
            resource, volume, path, variable = credentials
            prerequisites.append(resource)
            volumes.append(volume)
            mounts.append(mount(volume["name"], path, read_only=True))
            env.append(variable)
        if args.model_api_key is not None:
            key = k8s.core.v1.Secret(
                f"{name}-model-api-key",
                metadata=metadata(MODEL_API_KEY_SECRET, scope.name, ROLE, ORCHESTRATOR_APP),
                type="Opaque",
                string_data={API_KEY_KEY: pulumi.Output.secret(args.model_api_key)},
                opts=scope.opts,
            )
            prerequisites.append(key)
            # The agent spec's local routes name apiKeyEnv: VLLM_API_KEY; a reference, never a value.
            env.append(env_from_secret(contract.MODEL_API_KEY_ENV, MODEL_API_KEY_SECRET, API_KEY_KEY))

        res = args.orchestrator.resources
        pods = orchestrator_pods()
        runtime = container(
            "runtime",
            ctx.image("runtime"),
            Resources(res.cpu_request, res.memory_request, res.cpu_limit, res.memory_limit, "128Mi", "2Gi"),
            args=list(contract.SERVE_ARGS),
            ports=[(contract.PORT_NAME, ORCHESTRATOR_PORT)],
            env=env,
            mounts=mounts,
            startup=http_get(contract.HEALTHZ_PATH, contract.PORT_NAME, period=5, failures=24),
            readiness=http_get(contract.READYZ_PATH, contract.PORT_NAME, period=10, failures=3),
            liveness=http_get(contract.HEALTHZ_PATH, contract.PORT_NAME, period=10, failures=3),
        )
        pod = pod_spec(
            service_account=ORCHESTRATOR_SERVICE_ACCOUNT,
            containers=[runtime],
            volumes=volumes,
            uid=RUNTIME_UID,
            spread_labels=pods,
            termination_grace_seconds=contract.DRAIN_GRACE_SECONDS,
        )
        autoscaled = args.orchestrator.autoscaling.enabled
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=metadata(ORCHESTRATOR_APP, scope.name, ROLE, ORCHESTRATOR_APP),
            spec=deployment_spec(
                pods,
                labels(ROLE, ORCHESTRATOR_APP, **{AGENT_VERSION_LABEL: version}),
                pod,
                # With KEDA the replica count belongs to the autoscaler, never reset by a deploy.
                replicas=None if autoscaled else args.orchestrator.replicas,
            ),
            opts=scope.after(*prerequisites),
        )
        if autoscaled:
            queue_autoscaler(name, args.orchestrator, ctx.aws, scope, deployment)
        scope.service(f"{name}-service", ORCHESTRATOR_APP, ORCHESTRATOR_APP, pods, [("http", ORCHESTRATOR_PORT)])
        if (args.orchestrator.replicas or 1) > 1:  # a budget over one pod protects nothing
            scope.disruption_budget(f"{name}-pdb", ORCHESTRATOR_APP, ORCHESTRATOR_APP, pods)
        self.register_outputs({"namespace": scope.name, "agentVersion": self.agent_version})

    # ------------------------------------------------------------------ env and credentials

    @staticmethod
    def _env(args: OrchestratorArgs) -> list[Spec]:
        ctx = args.context
        env = [
            env_value(contract.PROFILE_ENV, ctx.profile),
            env_value(contract.PLATFORM_ENV, ctx.platform),
            env_value(contract.STACK_ENV, args.stack),
            env_value(contract.LOG_LEVEL_ENV, args.orchestrator.log_level),
            env_value(contract.AGENT_SPEC_ENV, contract.AGENT_SPEC_FILE),
            env_value(contract.STATE_DIR_ENV, STATE_DIR),
            env_value(contract.API_TOKENS_FILE_ENV, contract.API_TOKENS_FILE),
            env_value(contract.MODEL_ROUTES_ENV, json.dumps(model_routes(args.models, args.cloud_models), sort_keys=True)),
            env_value(contract.SANDBOXES_ENV, json.dumps({s.name: executor_url(s.name) for s in args.sandboxes}, sort_keys=True)),
            env_value("OTEL_SERVICE_NAME", "airlock-runtime"),
            env_value("OTEL_EXPORTER_OTLP_ENDPOINT", collector_otlp_http_url()),
            env_value("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            env_value("OTEL_RESOURCE_ATTRIBUTES", f"deployment.environment.name={args.stack},service.namespace=airlock"),
            env_value("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true" if args.capture_message_content else "false"),
        ]
        no_proxy = list(NO_PROXY)
        aws = ctx.aws
        if aws is not None:
            # The secrets broker and the AWS store both use the region; the store's names: store_wiring.
            env.append(env_value("AWS_REGION", aws.region))
            no_proxy += aws_direct_hosts(aws.region)
        proxy = ctx.proxy_client("orchestrator")
        if proxy is not None:
            # Cloud model APIs go through the proxy's orchestrator port; everything in the
            # cluster (and the AWS APIs, over their endpoints) goes direct.
            env += [env_value("HTTPS_PROXY", proxy_url(proxy.port)), env_value("NO_PROXY", ",".join(no_proxy))]
        return env

    def _credentials(
        self, name: str, ctx: WorkloadContext, secrets: Sequence[SecretConfig], scope: NamespaceScope
    ) -> tuple[pulumi.Resource, Spec, str, Spec] | None:
        """(resource, volume, mount path, env var naming it) for the tool credentials."""
        if ctx.aws is not None:
            # The runtime's broker reads Secrets Manager with the IRSA role; the pod holds only names -> ARNs.
            arns = k8s.core.v1.ConfigMap(
                f"{name}-secret-arns",
                metadata=metadata("secret-arns", scope.name, ROLE, ORCHESTRATOR_APP),
                data={contract.SECRET_ARNS_FILE.rsplit("/", 1)[1]: pulumi.Output.json_dumps(dict(sorted(ctx.aws.secret_arns.items())))},
                opts=scope.opts,
            )
            volume = {"name": "secret-arns", "configMap": {"name": arns.metadata.name, "defaultMode": 0o444}}
            return arns, volume, SECRET_ARNS_DIR, env_value(contract.SECRET_ARNS_FILE_ENV, contract.SECRET_ARNS_FILE)
        values = {s.name: s.value for s in secrets if s.value is not None}
        # (On aws the config rules already warn about empty store entries.)
        unset = [(i, s) for i, s in enumerate(secrets) if s.value is None] if ctx.platform == "kubernetes" else []
        for index, missing in unset:
            pulumi.log.warn(
                f"secrets entry '{missing.name}' has no value: it is not mounted in the orchestrator; set it with "
                f"`pulumi config set --secret --path 'airlock:secrets[{index}].value' ...`",
                self,
            )
        if not values:
            return None
        secret = k8s.core.v1.Secret(
            f"{name}-secrets",
            metadata=metadata(SECRETS_SECRET, scope.name, ROLE, ORCHESTRATOR_APP),
            type="Opaque",
            string_data={key: pulumi.Output.secret(value.get_secret_value()) for key, value in sorted(values.items())},
            opts=scope.opts,
        )
        # One file per secret (the runtime's file: broker); readable by the runtime's group only.
        volume = {"name": "secrets", "secret": {"secretName": SECRETS_SECRET, "defaultMode": 0o440}}
        return secret, volume, SECRETS_DIR, env_value(contract.SECRETS_DIR_ENV, SECRETS_DIR)

    # ------------------------------------------------------------------ network

    def _policies(self, name: str, args: OrchestratorArgs, scope: NamespaceScope) -> None:
        pods = orchestrator_pods()
        ingress = [{"from": [{"namespaceSelector": {"matchLabels": {API_CLIENT_LABEL: "true"}}}], "ports": tcp(ORCHESTRATOR_PORT)}]
        scope.policy(f"{name}-ingress", "orchestrator-ingress", policy_spec(pods, ingress=ingress))
        scope.policy(f"{name}-egress", "orchestrator-egress", policy_spec(pods, egress=orchestrator_egress(args)))


def orchestrator_egress(args: OrchestratorArgs) -> pulumi.Input[list[Spec]]:
    """Exactly the runtime's peers; anything else (the internet, the API server, IMDS) is denied."""
    ctx = args.context
    rules: list[Spec] = [dns_egress_rule(ctx.dns)]
    if args.models:
        rules.append({"to": [namespace_peer(MODELS_NAMESPACE, model_server_pods())], "ports": tcp(VLLM_PORT)})
    if args.sandboxes:
        executors = [namespace_peer(sandbox_namespace(s.name), executor_pods()) for s in args.sandboxes]
        rules.append({"to": executors, "ports": tcp(EXECUTOR_PORT)})
    rules.append({"to": [namespace_peer(TELEMETRY_NAMESPACE, collector_pods())], "ports": tcp(OTLP_GRPC_PORT, OTLP_HTTP_PORT)})
    rules += database_egress(args.orchestrator.store)
    proxy = ctx.proxy_client("orchestrator")
    if proxy is not None:
        rules.append({"to": [namespace_peer(EGRESS_NAMESPACE, proxy_pods())], "ports": tcp(proxy.port)})
    if ctx.platform != "aws":
        return rules
    return with_aws_endpoints(rules, ctx.private_subnets)
