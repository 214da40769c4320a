"""Engine-level ordering: nothing reaches the cluster before the cluster is ready.

A component's depends_on does not reach its children, so this watches the dependencies
each registration carries to the engine (the mock monitor sees the same request).
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from airlock.synth.run import validate_stack
from components.workloads.context import WorkloadContext
from components.workloads.sandbox import Sandbox, SandboxArgs
from support import PROJECT_DIR


class _Providers(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list | None]:
        return {}, None


class _Monitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: dict[str, tuple[str, list[str]]] = {}  # name -> (type, dependency URNs)

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        self.registrations[request.name] = (request.type, list(request.dependencies))
        return response


def test_every_namespace_waits_for_the_cluster_and_everything_waits_for_its_namespace() -> None:
    loaded = validate_stack(PROJECT_DIR, "onprem")
    mocks = _Providers()
    monitor = _Monitor(mocks)
    pulumi_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project="airlock", stack="ordering", preview=False, monitor=monitor)

    def program() -> None:
        provider = k8s.Provider("cluster")
        # Stands in for what the base hands over in ClusterAccess.ready (node groups, CNI add-ons).
        ready = k8s.core.v1.ConfigMap("cluster-ready", metadata={"name": "ready"}, opts=pulumi.ResourceOptions(provider=provider))
        context = WorkloadContext.of(loaded.config, "1.31", cluster_ready=[ready])
        Sandbox("sandbox-default", SandboxArgs(context, loaded.config.sandboxes[0]), pulumi.ResourceOptions(provider=provider))

    _sync_await(run_pulumi_func(program))
    registrations = monitor.registrations
    ready_urn = next(urn for urn in _urns(registrations) if urn.endswith("::cluster-ready"))
    namespace_type, namespace_deps = registrations["sandbox-default-namespace"]
    assert namespace_type == "kubernetes:core/v1:Namespace" and ready_urn in namespace_deps
    for name, (type_token, deps) in registrations.items():
        if type_token.startswith("kubernetes:") and name not in ("cluster-ready", "sandbox-default-namespace"):
            assert any(d.endswith("::sandbox-default-namespace") for d in deps), name


def _urns(registrations: dict[str, tuple[str, list[str]]]) -> set[str]:
    return {urn for _, deps in registrations.values() for urn in deps}
