"""Every endpoint the runtime may call, checked against the deployment profile.

The spec's own URLs (model routes, the approval webhook, ``telemetry.otlpEndpoint``) are
checked when the spec is validated. The environment can name more: the OpenTelemetry
exporters read ``OTEL_EXPORTER_OTLP_*ENDPOINT`` themselves, and httpx honours the proxy
variables. Under ``AIRLOCK_PROFILE=airgapped`` each of those must stay inside the cluster
by the same rule (:func:`runtime.hosts.is_local_or_cluster`), or the runtime refuses to
start: an airgapped runtime that quietly tries an external collector is a hole.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from runtime import hosts
from runtime.errors import BadInput

# Variables naming a place the runtime (or a library it uses) sends requests to.
ENDPOINT_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "https_proxy",
    "http_proxy",
    "all_proxy",
)


def _as_url(value: str) -> str:
    # OTLP/gRPC and proxy variables may be written host:port; judge the host all the same.
    return value if "://" in value else f"http://{value}"


def outbound_problems(env: Mapping[str, str], profile: str | None) -> list[str]:
    if profile != "airgapped":
        return []
    problems = []
    for name in ENDPOINT_VARIABLES:
        value = (env.get(name) or "").strip()
        if value and not hosts.is_local_or_cluster(_as_url(value)):
            problems.append(
                f"{name}={value!r} is outside the cluster, refused by AIRLOCK_PROFILE=airgapped; allowed: "
                f"loopback, a bare service name, *.svc or *.svc.{hosts.cluster_domain()}"
            )
    return problems


def check_outbound_environment(profile: str | None, env: Mapping[str, str] | None = None) -> None:
    """Raise BadInput naming every endpoint variable the profile forbids."""
    problems = outbound_problems(os.environ if env is None else env, profile)
    if problems:
        raise BadInput("; ".join(problems))
