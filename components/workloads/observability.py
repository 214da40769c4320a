"""Observability: the OpenTelemetry collector the agent runtime exports OTLP to.

Receives OTLP gRPC (4317) and HTTP (4318) from the orchestrator only; exports per
``observability.exporter``. Exporter credentials (``headersSecret``) never appear in the
rendered config: they are a mounted Secret merged in as a second config file. Where the
exporter's endpoint lives decides its egress: an in-cluster Service (that namespace, that
port), the internet (through the egress proxy's telemetry port), or, in an airgapped stack,
your own network (private ranges, that port only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.workloads.labels import Role, labels
from components.config.addresses import PRIVATE_RANGES
from components.config.naming import EGRESS_NAMESPACE, ORCHESTRATOR_NAMESPACE, TELEMETRY_NAMESPACE
from components.config.schema import ObservabilityConfig, SecretConfig
from components.workloads.context import WorkloadContext
from components.config.endpoints import parse_endpoint
from components.workloads.endpoints import (
    COLLECTOR_APP,
    COLLECTOR_HEALTH_PORT,
    NO_PROXY,
    OTLP_GRPC_PORT,
    OTLP_HTTP_PORT,
    collector_otlp_http_url,
    collector_pods,
    orchestrator_pods,
    proxy_pods,
    proxy_url,
)
from components.workloads.network_policies import dns_egress_rule, ip_block, namespace_peer, policy_spec, tcp
from components.workloads.pod_security import (
    CONFIG_HASH_ANNOTATION,
    Resources,
    Spec,
    container,
    deployment_spec,
    empty_dir,
    env_value,
    http_get,
    metadata,
    mount,
    pod_spec,
)
from components.workloads.proxy_routes import TELEMETRY_CLIENT
from components.workloads.rendering import content_hash, render
from components.workloads.scope import NamespaceScope, owned_namespace

ROLE: Role = "telemetry"
COLLECTOR_UID = 10001  # the user the upstream collector images run as
CONFIG_DIR = "/etc/otelcol/airlock"
HEADERS_DIR = "/var/run/secrets/airlock/otel-headers"
HEADERS_SECRET = "otel-exporter-headers"
# Namespaces whose pods send telemetry. Only the runtime does; sandboxes never may.
SENDER_NAMESPACES = (ORCHESTRATOR_NAMESPACE,)


def render_collector_config(exporter: str, endpoint: str | None, with_headers: bool) -> str:
    insecure = endpoint is not None and endpoint.startswith("http://")
    return render(
        "otel-collector.yaml.j2",
        exporter=exporter,
        endpoint=endpoint or "",
        insecure=insecure,
        headers_file=f"{HEADERS_DIR}/headers.yaml" if with_headers else "",
        health_port=COLLECTOR_HEALTH_PORT,
        grpc_port=OTLP_GRPC_PORT,
        http_port=OTLP_HTTP_PORT,
    )


def headers_config(exporter: str, raw: str) -> str:
    """A collector config fragment setting the exporter's headers, from a secret value in
    the OTEL_EXPORTER_OTLP_HEADERS format: ``key1=value1,key2=value2`` (values URL-encoded)."""
    headers: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            # Never echo the value: it is a credential.
            raise ValueError(
                f"observability.headersSecret: the secret's value must be 'key=value[,key=value...]' "
                f"(item {len(headers) + 1} has no '=')"
            )
        headers[key.strip().lower()] = unquote(value.strip())
    return yaml.safe_dump({"exporters": {exporter: {"headers": headers}}}, sort_keys=True)


@dataclass(frozen=True)
class ObservabilityArgs:
    context: WorkloadContext
    observability: ObservabilityConfig
    # The stack's secrets; observability.headersSecret names the exporter's headers among them.
    secrets: Sequence[SecretConfig]


class Observability(pulumi.ComponentResource):
    namespace: k8s.core.v1.Namespace
    otlp_http_url: str
    collector_config: str

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:workloads:Observability", name, None, opts)
        ctx, obs = args.context, args.observability
        scope = owned_namespace(self, name, TELEMETRY_NAMESPACE, ROLE, ctx.kubernetes_version, ctx.cluster_ready)
        self.namespace = scope.namespace
        self._policies(name, ctx, obs, scope)

        headers = self._headers_secret(name, obs, args.secrets, scope)
        self.collector_config = render_collector_config(obs.exporter, obs.endpoint, headers is not None)
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=metadata(f"{COLLECTOR_APP}-config", scope.name, ROLE, COLLECTOR_APP),
            data={"config.yaml": self.collector_config},
            opts=scope.opts,
        )
        volumes: list[Spec] = [
            {"name": "config", "configMap": {"name": config_map.metadata.name, "defaultMode": 0o444}},
            empty_dir("tmp", "256Mi"),
        ]
        mounts = [mount("config", CONFIG_DIR, read_only=True), mount("tmp", "/tmp")]
        config_args = [f"--config={CONFIG_DIR}/config.yaml"]
        if headers is not None:
            volumes.append({"name": "headers", "secret": {"secretName": HEADERS_SECRET, "defaultMode": 0o440}})
            mounts.append(mount("headers", HEADERS_DIR, read_only=True))
            config_args.append(f"--config={HEADERS_DIR}/headers.yaml")

        env: list[Spec] = [
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            # Keeps the Go heap under the container limit (512Mi) before the kernel OOM-kills it.
            env_value("GOMEMLIMIT", "400MiB"),
        ]
        proxy = ctx.proxy_client(TELEMETRY_CLIENT)
        if proxy is not None:
            env += [env_value("HTTPS_PROXY", proxy_url(proxy.port)), env_value("NO_PROXY", ",".join(NO_PROXY))]

        pods = collector_pods()
        ports = [("otlp-grpc", OTLP_GRPC_PORT), ("otlp-http", OTLP_HTTP_PORT)]
        collector = container(
            "otel-collector",
            ctx.image("otel_collector"),
            Resources("100m", "256Mi", "1", "512Mi", "64Mi", "512Mi"),
            args=config_args,
            ports=[*ports, ("health", COLLECTOR_HEALTH_PORT)],
            env=env,
            mounts=mounts,
            readiness=http_get("/", "health", period=10, failures=3),
            liveness=http_get("/", "health", period=15, failures=3),
        )
        account = scope.service_account(f"{name}-account", COLLECTOR_APP, COLLECTOR_APP)
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=metadata(COLLECTOR_APP, scope.name, ROLE, COLLECTOR_APP),
            spec=deployment_spec(
                pods,
                labels(ROLE, COLLECTOR_APP),
                pod_spec(service_account=COLLECTOR_APP, containers=[collector], volumes=volumes, uid=COLLECTOR_UID),
                replicas=1,
                pod_annotations={CONFIG_HASH_ANNOTATION: content_hash(self.collector_config)},
            ),
            opts=scope.after(config_map, account, *([headers] if headers else [])),
        )
        scope.service(f"{name}-service", COLLECTOR_APP, COLLECTOR_APP, pods, ports)
        self.otlp_http_url = collector_otlp_http_url()
        self.register_outputs({"namespace": scope.name, "otlpHttpUrl": self.otlp_http_url})

    def _headers_secret(
        self, name: str, obs: ObservabilityConfig, secrets: Sequence[SecretConfig], scope: NamespaceScope
    ) -> k8s.core.v1.Secret | None:
        if not obs.headers_secret or obs.exporter == "debug":
            return None
        entry = next(s for s in secrets if s.name == obs.headers_secret)
        if entry.value is None:
            pulumi.log.warn(
                f"observability.headersSecret '{entry.name}' has no value in the stack config: create Secret "
                f"'{HEADERS_SECRET}' in namespace {TELEMETRY_NAMESPACE} (key headers.yaml) before the collector can start",
                self,
            )
            return None
        exporter = obs.exporter
        fragment: pulumi.Output[str] = pulumi.Output.secret(entry.value.get_secret_value()).apply(
            lambda raw: headers_config(exporter, raw)
        )
        secret_fragment: pulumi.Output[str] = pulumi.Output.secret(fragment)
        return k8s.core.v1.Secret(
            f"{name}-exporter-headers",
            metadata=metadata(HEADERS_SECRET, scope.name, ROLE, COLLECTOR_APP),
            type="Opaque",
            string_data={"headers.yaml": secret_fragment},
            opts=scope.opts,
        )

    def _policies(self, name: str, ctx: WorkloadContext, obs: ObservabilityConfig, scope: NamespaceScope) -> None:
        pods = collector_pods()
        senders = [namespace_peer(sender, orchestrator_pods()) for sender in SENDER_NAMESPACES]
        ingress = [{"from": senders, "ports": tcp(OTLP_GRPC_PORT, OTLP_HTTP_PORT)}]
        scope.policy(f"{name}-ingress", "otel-collector-ingress", policy_spec(pods, ingress=ingress))
        egress = exporter_egress(ctx, obs)
        if egress:
            scope.policy(f"{name}-egress", "otel-collector-egress", policy_spec(pods, egress=egress))


def exporter_egress(ctx: WorkloadContext, obs: ObservabilityConfig) -> list[Spec]:
    """Where the collector may send: nothing for 'debug'; else DNS plus exactly one route."""
    if obs.exporter == "debug" or not obs.endpoint:
        return []
    endpoint = parse_endpoint(obs.endpoint)
    proxy = ctx.proxy_client(TELEMETRY_CLIENT)
    if endpoint.in_cluster:
        route = {"to": [namespace_peer(endpoint.namespace or "")], "ports": tcp(endpoint.port)}
    elif proxy is not None:
        route = {"to": [namespace_peer(EGRESS_NAMESPACE, proxy_pods())], "ports": tcp(proxy.port)}
    else:
        # Airgapped: the backend is somewhere in your own network; only its port, only private ranges.
        private = [ip_block(str(n)) for n in PRIVATE_RANGES if n.version == 4]
        route = {"to": private, "ports": tcp(endpoint.port)}
    return [dns_egress_rule(ctx.dns), route]
