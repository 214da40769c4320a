"""Sandbox: one deny-by-default namespace per sandbox pool, running the sandbox executor.

What a sandbox can reach is exactly: the cluster DNS resolver (only when its allowlist has
CIDR entries), its own port on the egress proxy, by Service IP (for its DNS-name allowlist) and
its CIDR allowlist entries over TCP (minus IMDS, link-local, CGNAT and loopback). Only the
orchestrator can reach it. It holds no Secret (a quota of zero enforces it), no
service-account token, no route to the API server. See docs/sandboxes.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.config.schema import SandboxConfig
from components.workloads.labels import Role, labels
from components.config.naming import EGRESS_NAMESPACE, ORCHESTRATOR_NAMESPACE, sandbox_namespace
from components.workloads.context import WorkloadContext
from components.workloads.endpoints import (
    EXECUTOR_APP,
    EXECUTOR_PORT,
    NO_PROXY,
    executor_pods,
    orchestrator_pods,
    proxy_pods,
    proxy_url,
)
from components.workloads.network_policies import (
    dns_egress_rule,
    ip_block,
    namespace_peer,
    never_reachable_within,
    policy_spec,
    tcp,
)
from components.workloads.pod_security import (
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
from components.workloads.proxy_routes import is_cidr_entry
from components.workloads.scope import owned_namespace

ROLE: Role = "sandbox"
EXECUTOR_UID = 10001
GVISOR_RUNTIME_CLASS = "gvisor"
GVISOR_HANDLER = "runsc"
WORK_DIR = "/work"


def gvisor_runtime_class(resource_name: str, opts: pulumi.ResourceOptions) -> k8s.node.v1.RuntimeClass:
    """Cluster-wide, created once for every pool with isolation 'gvisor'. The nodes must have
    runsc registered as the containerd handler 'runsc' (docs/sandboxes.md)."""
    return k8s.node.v1.RuntimeClass(
        resource_name,
        metadata=metadata(GVISOR_RUNTIME_CLASS, None, ROLE, GVISOR_RUNTIME_CLASS),
        handler=GVISOR_HANDLER,
        opts=opts,
    )


def quota_spec(sandbox: SandboxConfig) -> Spec:
    quota = sandbox.quota
    hard = {
        "pods": str(quota.pods),
        "requests.cpu": quota.cpu,
        "limits.cpu": quota.cpu,
        "requests.memory": quota.memory,
        "limits.memory": quota.memory,
        "requests.ephemeral-storage": quota.ephemeral_storage,
        "limits.ephemeral-storage": quota.ephemeral_storage,
        # Nothing in a sandbox namespace may hold a credential, take a GPU, or open the
        # namespace to the outside: enforced by admission, not just by what Airlock creates.
        "secrets": "0",
        "persistentvolumeclaims": "0",
        "services.loadbalancers": "0",
        "services.nodeports": "0",
        "requests.nvidia.com/gpu": "0",
    }
    return {"hard": hard}


def limit_range_spec(sandbox: SandboxConfig) -> Spec:
    """Pods started in the namespace without limits (a probe Job, a debug pod) get the
    executor's; none may exceed them."""
    limits = {"cpu": sandbox.limits.cpu, "memory": sandbox.limits.memory, "ephemeral-storage": sandbox.limits.ephemeral_storage}
    return {
        "limits": [
            {"type": "Container", "default": dict(limits), "defaultRequest": dict(limits), "max": dict(limits)},
            {"type": "Pod", "max": dict(limits)},
        ]
    }


def egress_rules(ctx: WorkloadContext, sandbox: SandboxConfig) -> list[Spec]:
    """The sandbox's allowlist as NetworkPolicy egress rules; empty allowlist, no rules."""
    if not sandbox.egress_allowlist:
        return []
    cidrs = [entry for entry in sandbox.egress_allowlist if is_cidr_entry(entry)]
    # DNS is a channel out of its own: only pools with CIDR entries (which code may reach
    # by an internal name) get the resolver. Names go through the proxy, which sandboxes
    # reach by its Service IP and which resolves them itself.
    rules = [dns_egress_rule(ctx.dns)] if cidrs else []
    proxy = ctx.proxy_client(f"sandbox-{sandbox.name}")
    if proxy is not None:
        rules.append({"to": [namespace_peer(EGRESS_NAMESPACE, proxy_pods())], "ports": tcp(proxy.port)})
    if cidrs:
        rules.append({"to": [ip_block(c, never_reachable_within(c)) for c in cidrs], "ports": [{"protocol": "TCP"}]})
    return rules


@dataclass(frozen=True)
class SandboxArgs:
    context: WorkloadContext
    sandbox: SandboxConfig
    # The gVisor RuntimeClass, when this pool's isolation is 'gvisor'.
    runtime_class: k8s.node.v1.RuntimeClass | None = None
    # The egress proxy's Service IP (no DNS needed to reach it); None without a proxy.
    proxy_ip: pulumi.Input[str] | None = None


class Sandbox(pulumi.ComponentResource):
    namespace: k8s.core.v1.Namespace
    deployment: k8s.apps.v1.Deployment

    def __init__(self, name: str, args: SandboxArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:workloads:Sandbox", name, None, opts)
        ctx, sandbox = args.context, args.sandbox
        if (sandbox.isolation == "gvisor") != (args.runtime_class is not None):
            raise ValueError(f"sandbox '{sandbox.name}': isolation {sandbox.isolation!r} and the RuntimeClass disagree")
        scope = owned_namespace(self, name, sandbox_namespace(sandbox.name), ROLE, ctx.kubernetes_version, ctx.cluster_ready)
        self.namespace = scope.namespace
        ingress = [{"from": [namespace_peer(ORCHESTRATOR_NAMESPACE, orchestrator_pods())], "ports": tcp(EXECUTOR_PORT)}]
        scope.policy(f"{name}-ingress", "sandbox-ingress", policy_spec(executor_pods(), ingress=ingress))
        egress = egress_rules(ctx, sandbox)
        if egress:
            # Every pod in the namespace (not only the executor): a probe Job run here sees
            # exactly what sandboxed code sees.
            scope.policy(f"{name}-egress", "sandbox-egress", policy_spec(None, egress=egress))

        quota = k8s.core.v1.ResourceQuota(
            f"{name}-quota", metadata=metadata("sandbox-quota", scope.name, ROLE, EXECUTOR_APP), spec=quota_spec(sandbox), opts=scope.opts
        )
        limits = k8s.core.v1.LimitRange(
            f"{name}-limits",
            metadata=metadata("sandbox-limits", scope.name, ROLE, EXECUTOR_APP),
            spec=limit_range_spec(sandbox),
            opts=scope.opts,
        )
        account = scope.service_account(f"{name}-account", EXECUTOR_APP, EXECUTOR_APP)

        pods = executor_pods()
        limit = sandbox.limits
        executor = container(
            "executor",
            ctx.image("sandbox_executor"),
            # requests = limits: the quota is sized on limits, and a sandbox never bursts into its neighbours.
            Resources(limit.cpu, limit.memory, limit.cpu, limit.memory, limit.ephemeral_storage, limit.ephemeral_storage),
            ports=[("http", EXECUTOR_PORT)],
            env=self._env(ctx, sandbox, args.proxy_ip),
            mounts=[mount("work", WORK_DIR), mount("tmp", "/tmp")],
            readiness=http_get("/healthz", "http", period=5, failures=3),
            liveness=http_get("/healthz", "http", period=10, failures=3),
        )
        pod = pod_spec(
            service_account=EXECUTOR_APP,
            containers=[executor],
            volumes=[empty_dir("work", limit.ephemeral_storage), empty_dir("tmp", "256Mi")],
            uid=EXECUTOR_UID,
            runtime_class=GVISOR_RUNTIME_CLASS if args.runtime_class is not None else None,
            spread_labels=pods if sandbox.replicas > 1 else None,
        )
        prerequisites: list[pulumi.Resource] = [quota, limits, account]
        if args.runtime_class is not None:
            prerequisites.append(args.runtime_class)
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=metadata(EXECUTOR_APP, scope.name, ROLE, EXECUTOR_APP),
            spec=deployment_spec(pods, labels(ROLE, EXECUTOR_APP), pod, replicas=sandbox.replicas),
            opts=scope.after(*prerequisites),
        )
        scope.service(f"{name}-service", EXECUTOR_APP, EXECUTOR_APP, pods, [("http", EXECUTOR_PORT)])
        self.register_outputs({"namespace": scope.name})

    @staticmethod
    def _env(ctx: WorkloadContext, sandbox: SandboxConfig, proxy_ip: pulumi.Input[str] | None) -> list[Spec]:
        env = [
            env_value("AIRLOCK_SANDBOX_POOL", sandbox.name),
            env_value("AIRLOCK_EXEC_TIMEOUT_SECONDS", str(sandbox.exec_timeout_seconds)),
            env_value("AIRLOCK_WORK_DIR", WORK_DIR),
            env_value("HOME", WORK_DIR),
        ]
        proxy = ctx.proxy_client(f"sandbox-{sandbox.name}")
        if proxy is not None:
            # Both spellings: sandboxed tools (pip, curl, git, requests) disagree on which they read.
            url: pulumi.Input[str] = proxy_url(proxy.port)
            if proxy_ip is not None:
                url = pulumi.Output.concat("http://", proxy_ip, f":{proxy.port}")
            no_proxy = ",".join(NO_PROXY)
            for key, value in (("HTTPS_PROXY", url), ("HTTP_PROXY", url), ("NO_PROXY", no_proxy)):
                env += [env_value(key, value), env_value(key.lower(), value)]
        return env
