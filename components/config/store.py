"""Facts about the orchestrator's store that the rules, the workloads and the docs share.

Which PostgreSQL server the runtime (and KEDA's postgresql scaler) connect to, under which
names, and where that server lives (in the cluster, at a private address, elsewhere), all
derived once from ``orchestrator.store`` (docs/workloads.md, "The runtime's store").
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

from components.config.addresses import PRIVATE_IPV4_RANGES
from components.config.endpoints import parse_endpoint_or_none
from components.config.naming import ORCHESTRATOR_NAMESPACE
from components.config.schema import StoreConfig

# The CloudNativePG Cluster Airlock creates in the orchestrator's namespace. The operator
# names its read-write Service "<cluster>-rw" and the owner's credentials "<cluster>-app"
# (keys username, password, ...); the runtime mounts that Secret, so it lives in the same
# namespace as the runtime (a pod can only mount Secrets of its own namespace).
CNPG_CLUSTER = "runtime-db"
CNPG_APP_SECRET = f"{CNPG_CLUSTER}-app"
CNPG_PORT = 5432
# The label CloudNativePG puts on every instance pod of a cluster.
CNPG_CLUSTER_LABEL = "cnpg.io/cluster"
# The key under which the password sits: CloudNativePG's app secret, and the one asked of
# operators for an external server's Secret (a basic-auth Secret uses the same key).
PASSWORD_KEY = "password"
SHARED_KINDS = ("postgresql", "cloudnativepg", "aws")

Placement = Literal["cluster", "private", "outside"]


@dataclass(frozen=True)
class Database:
    """The PostgreSQL server of a postgresql or cloudnativepg store, as clients reach it."""

    host: str
    port: int
    database: str
    user: str
    ssl_mode: str
    # The Kubernetes Secret (in the orchestrator's namespace) holding the password under PASSWORD_KEY.
    password_secret: str

    @property
    def url(self) -> str:
        """AIRLOCK_STORE: never with a password (the runtime refuses one; it reads the secret file)."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}?sslmode={self.ssl_mode}"


def database(store: StoreConfig) -> Database | None:
    """The server a PostgreSQL-backed store uses; None for sqlite and aws."""
    if store.kind == "cloudnativepg":
        host = f"{CNPG_CLUSTER}-rw.{ORCHESTRATOR_NAMESPACE}.svc"
        return Database(host, CNPG_PORT, store.database, store.user, store.ssl_mode, CNPG_APP_SECRET)
    if store.kind == "postgresql" and store.host and store.password_secret:
        return Database(store.host, store.port, store.database, store.user, store.ssl_mode, store.password_secret)
    return None


def host_namespace(host: str) -> str | None:
    """The namespace of a cluster DNS name (<service>.<namespace>.svc[.cluster.local]), else None."""
    endpoint = parse_endpoint_or_none(f"{host}:5432")
    return endpoint.namespace if endpoint is not None else None


def host_address(host: str) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(host)
    except ValueError:
        return None


def placement(store: StoreConfig) -> Placement:
    """Where an external server lives, as far as config can tell: a cluster DNS name is in the
    cluster; a server whose egress CIDR (host/32 for an IP address, else ``cidr``) lies inside
    RFC 1918 is in your network, since the orchestrator's NetworkPolicy lets it reach only
    those addresses whatever the name resolves to; anything else may be anywhere."""
    if host_namespace(store.host or "") is not None:
        return "cluster"
    network = egress_cidr(store)
    if network is not None and any(network.subnet_of(private) for private in PRIVATE_IPV4_RANGES):
        return "private"
    return "outside"


def egress_cidr(store: StoreConfig) -> ipaddress.IPv4Network | None:
    """The addresses the orchestrator's NetworkPolicy admits for an external server outside the cluster."""
    if store.cidr is not None:
        return store.cidr
    address = host_address(store.host or "")
    return ipaddress.IPv4Network(f"{address}/32") if address is not None else None
