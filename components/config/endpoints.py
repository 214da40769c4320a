"""Endpoints a stack names in config (OTLP exporters, Prometheus, cloud base URLs): parsed once.

The rules decide from the parsed form whether an endpoint is inside the cluster; the
workloads turn the same form into NetworkPolicy peers and proxy routes, so both agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

CLUSTER_DOMAIN = "cluster.local"


@dataclass(frozen=True)
class Endpoint:
    """A host:port some workload connects to, and where it lives."""

    host: str
    port: int
    scheme: str  # 'https', 'http' or 'grpc' (a bare host:port, TLS unless told otherwise)
    # The namespace of an in-cluster Service (<svc>.<ns>.svc[.cluster.local]); None outside.
    namespace: str | None

    @property
    def in_cluster(self) -> bool:
        return self.namespace is not None


def parse_endpoint(text: str) -> Endpoint:
    """``https://otlp.example.com:4318``, ``http://tempo.tracing.svc:4318`` or ``collector.corp:4317``.
    Raises ValueError for anything else (config rules turn that into a keyed message)."""
    if "://" not in text:
        host, _, port = text.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"{text!r} is neither a URL nor host:port")
        number = int(port)
    else:
        parts = urlsplit(text)
        host = parts.hostname or ""
        given = parts.port  # raises ValueError when out of range
        number = given if given is not None else (443 if parts.scheme == "https" else 80)
        if not host or parts.scheme not in ("http", "https"):
            raise ValueError(f"{text!r} is not an http:// or https:// URL")
    if not 0 < number < 65536:
        raise ValueError(f"{text!r}: port {number} is out of range")
    scheme = "grpc" if "://" not in text else urlsplit(text).scheme
    return Endpoint(host.lower(), number, scheme, _service_namespace(host))


def _service_namespace(host: str) -> str | None:
    labels = host.lower().split(".")
    if len(labels) >= 3 and (labels[2:] == ["svc"] or labels[2:] == ["svc", *CLUSTER_DOMAIN.split(".")]):
        return labels[1]
    return None


def parse_endpoint_or_none(text: str) -> Endpoint | None:
    """``parse_endpoint`` for rules that report a bad endpoint elsewhere (or not at all)."""
    try:
        return parse_endpoint(text)
    except ValueError:
        return None
