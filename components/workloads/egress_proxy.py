"""EgressProxy: the FQDN-allowlisting forward proxy (Squid), cloud and hybrid stacks only.

The proxy pods are the only pods in the stack whose NetworkPolicy reaches the internet,
and only on the ports their clients need (443, plus an exporter's port). Each client
class has its own listening port and allowlist (see proxy_routes); Squid allows CONNECT
only, to allowlisted names only, never to private or metadata addresses, and logs every
decision to stdout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.workloads.labels import Role, labels
from components.config.naming import EGRESS_NAMESPACE
from components.config.schema import EgressProxyConfig
from components.workloads.context import WorkloadContext
from components.workloads.endpoints import PROXY_APP, proxy_pods
from components.workloads.network_policies import (
    NOT_INTERNET_V4,
    NOT_INTERNET_V6,
    dns_egress_rule,
    internet_peers,
    namespace_peer,
    policy_spec,
    tcp,
)
from components.workloads.pod_security import (
    CONFIG_HASH_ANNOTATION,
    Resources,
    container,
    deployment_spec,
    empty_dir,
    metadata,
    mount,
    pod_spec,
    tcp_socket,
)
from components.workloads.proxy_routes import ProxyClient, squid_domains
from components.workloads.rendering import content_hash, render
from components.workloads.scope import NamespaceScope, owned_namespace

ROLE: Role = "egress-proxy"
# The 'proxy' user of the Ubuntu Squid image; Squid started as this user never needs root.
SQUID_UID = 13
CONFIG_DIR = "/etc/squid/airlock"


def render_squid_conf(clients: Sequence[ProxyClient]) -> str:
    return render(
        "squid.conf.j2",
        clients=[
            {
                "client": c.client,
                "id": c.client.replace("-", "_"),
                "port": c.port,
                "namespace": c.namespace,
                "domains": squid_domains(c.hosts),
                "dest_ports": list(c.dest_ports),
            }
            for c in clients
        ],
        blocked=[*NOT_INTERNET_V4, *NOT_INTERNET_V6],
    )


@dataclass(frozen=True)
class EgressProxyArgs:
    context: WorkloadContext
    egress_proxy: EgressProxyConfig


class EgressProxy(pulumi.ComponentResource):
    namespace: k8s.core.v1.Namespace
    squid_conf: str

    def __init__(self, name: str, args: EgressProxyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:workloads:EgressProxy", name, None, opts)
        ctx = args.context
        clients = ctx.proxy_clients
        if not clients:
            raise ValueError("EgressProxy needs at least one client (egressProxy.enabled is false?)")
        scope = owned_namespace(self, name, EGRESS_NAMESPACE, ROLE, ctx.kubernetes_version, ctx.cluster_ready)
        self.namespace = scope.namespace
        self._policies(name, clients, ctx, scope)

        self.squid_conf = render_squid_conf(clients)
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=metadata(f"{PROXY_APP}-config", scope.name, ROLE, PROXY_APP),
            data={"squid.conf": self.squid_conf},
            opts=scope.opts,
        )

        pods = proxy_pods()
        squid = container(
            "squid",
            ctx.image("egress_proxy"),
            Resources("100m", "128Mi", "1", "512Mi", "64Mi", "256Mi"),
            command=["/usr/sbin/squid"],
            # -N: stay in the foreground as the container's process.
            args=["-N", "-f", f"{CONFIG_DIR}/squid.conf"],
            ports=[(c.port_name, c.port) for c in clients],
            mounts=[
                mount("config", CONFIG_DIR, read_only=True),
                mount("tmp", "/tmp"),
                mount("spool", "/var/spool/squid"),
                mount("run", "/run/squid"),
                mount("shm", "/dev/shm"),
            ],
            readiness=tcp_socket(clients[0].port, period=5, failures=3),
            liveness=tcp_socket(clients[0].port, period=10, failures=3),
        )
        pod = pod_spec(
            service_account=PROXY_APP,
            containers=[squid],
            volumes=[
                {"name": "config", "configMap": {"name": config_map.metadata.name, "defaultMode": 0o444}},
                empty_dir("tmp", "64Mi"),
                empty_dir("spool", "64Mi"),
                empty_dir("run", "8Mi"),
                empty_dir("shm", "64Mi", memory=True),
            ],
            uid=SQUID_UID,
            spread_labels=pods,
        )
        account = scope.service_account(f"{name}-account", PROXY_APP, PROXY_APP)
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=metadata(PROXY_APP, scope.name, ROLE, PROXY_APP),
            spec=deployment_spec(
                pods,
                labels(ROLE, PROXY_APP),
                pod,
                replicas=args.egress_proxy.replicas,
                pod_annotations={CONFIG_HASH_ANNOTATION: content_hash(self.squid_conf)},
            ),
            opts=scope.after(config_map, account),
        )
        self.service = scope.service(f"{name}-service", PROXY_APP, PROXY_APP, pods, [(c.port_name, c.port) for c in clients])
        # Sandboxes reach the proxy by this address, so they need no DNS at all.
        self.cluster_ip: pulumi.Output[str] = self.service.spec.cluster_ip
        if args.egress_proxy.replicas > 1:  # a budget over one pod protects nothing
            scope.disruption_budget(f"{name}-pdb", PROXY_APP, PROXY_APP, pods)
        self.register_outputs({"namespace": scope.name, "ports": {c.client: c.port for c in clients}})

    def _policies(self, name: str, clients: Sequence[ProxyClient], ctx: WorkloadContext, scope: NamespaceScope) -> None:
        # Each client namespace reaches its own port and nothing else.
        ingress = [{"from": [namespace_peer(c.namespace, c.pod_labels)], "ports": tcp(c.port)} for c in clients]
        scope.policy(f"{name}-ingress", "egress-proxy-ingress", policy_spec(proxy_pods(), ingress=ingress))
        # The only policy in the stack that reaches public addresses; never private ones.
        dest_ports = sorted({p for c in clients for p in c.dest_ports})
        egress = [dns_egress_rule(ctx.dns), {"to": internet_peers(), "ports": tcp(*dest_ports)}]
        scope.policy(f"{name}-egress", "egress-proxy-egress", policy_spec(proxy_pods(), egress=egress))
