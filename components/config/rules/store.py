"""The orchestrator's store: the platform provides it, replicas share it, airgapped stacks keep it inside.

* aws keeps state in the SQS queue, DynamoDB table and buckets it provisions; the other
  kinds are for platform kubernetes (``aws`` only on aws).
* Each kind reads only its own keys; a key of another kind is a mistake, not a no-op.
* More than one replica, or autoscaling, needs a store the replicas share: a SQLite file
  is one pod's, so a second replica would run a second, separate store.
* Airgapped: the database is in the cluster (cloudnativepg, or a cluster DNS name) or at
  RFC 1918 addresses, never somewhere the internet could be.
"""

from __future__ import annotations

import ipaddress
from typing import Iterator

from components.config.addresses import FORBIDDEN_EGRESS, within
from components.config.errors import ConfigIssue, key_path
from components.config.images import ImageRef
from components.config.rules.context import RuleContext
from components.config.schema import StackConfig, StoreConfig, config_key
from components.config.store import host_address, host_namespace, placement

# Keys each kind reads (besides kind); any other key set explicitly is refused.
KIND_KEYS: dict[str, frozenset[str]] = {
    "sqlite": frozenset(),
    "aws": frozenset(),
    "postgresql": frozenset({"host", "port", "cidr", "database", "user", "password_secret", "ssl_mode"}),
    "cloudnativepg": frozenset(
        {"database", "user", "ssl_mode", "instances", "storage_size", "storage_class", "image", "operator_namespace"}
    ),
}
# Narrowest allowed egress CIDR prefix for an external database: a server, or a small subnet of them.
WIDEST_DATABASE_PREFIX = 16


def _store_path(*parts: str | int) -> str:
    return key_path("orchestrator", "store", *parts)


def store_platform(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    store = config.orchestrator.store
    if config.platform == "aws" and store.kind != "aws":
        yield ConfigIssue(
            _store_path("kind"),
            store.kind,
            "platform aws keeps the runtime's state in the SQS queue, DynamoDB table and S3 buckets it provisions; "
            "allowed: aws (or leave it unset)",
        )
    elif config.platform != "aws" and store.kind == "aws":
        yield ConfigIssue(
            _store_path("kind"),
            store.kind,
            "the aws store needs the queue, table and buckets that only platform aws provisions; allowed on "
            "kubernetes: sqlite, postgresql, cloudnativepg",
        )
    yield from _keys_of_other_kinds(store)
    if store.kind == "postgresql":
        yield from _external_server(store)
    if store.kind == "cloudnativepg" and "cloudnativepg" not in config.cluster.installed_addons:
        yield ConfigIssue(
            _store_path("kind"),
            store.kind,
            "needs the CloudNativePG operator, which Airlock does not install: its Cluster would fail with 'no "
            "matches for kind'. Install it (docs/workloads.md, the runtime's store) and add 'cloudnativepg' to "
            "cluster.installedAddons, or use kind postgresql with your own server",
        )


def _keys_of_other_kinds(store: StoreConfig) -> Iterator[ConfigIssue]:
    allowed = KIND_KEYS.get(store.kind or "", frozenset())
    for name in sorted(store.model_fields_set - allowed - {"kind"}):
        users = [kind for kind, keys in KIND_KEYS.items() if name in keys]
        yield ConfigIssue(
            _store_path(config_key(name)),
            getattr(store, name),
            f"applies only to kind {' and '.join(users)}, not to kind {store.kind}; remove it or change kind",
        )


def _external_server(store: StoreConfig) -> Iterator[ConfigIssue]:
    if not store.host:
        yield ConfigIssue(
            _store_path("host"), None, "kind postgresql needs the server's DNS name or IP address (host)"
        )
    if not store.password_secret:
        yield ConfigIssue(
            _store_path("passwordSecret"),
            None,
            "kind postgresql needs the name of a Kubernetes Secret in namespace airlock-orchestrator holding the "
            "password under key 'password' (kubectl create secret generic NAME --from-file=password=...)",
        )
    if not store.host:
        return
    address = host_address(store.host)
    in_cluster = host_namespace(store.host) is not None
    if address is not None:
        if store.cidr is not None and not within(ipaddress.IPv4Network(f"{address}/32"), store.cidr):
            yield ConfigIssue(_store_path("cidr"), str(store.cidr), f"does not contain host {address}; allowed: a CIDR containing it")
        for forbidden, what in FORBIDDEN_EGRESS.items():
            if within(ipaddress.IPv4Network(f"{address}/32"), forbidden):
                yield ConfigIssue(_store_path("host"), store.host, f"is {what}; allowed: the database server's address")
    elif not in_cluster and store.cidr is None:
        yield ConfigIssue(
            _store_path("cidr"),
            None,
            f"host {store.host!r} is a name outside the cluster, and a NetworkPolicy admits addresses, not names: set "
            "cidr to the addresses the server is reached at (e.g. its subnet), or use a cluster DNS name "
            "(<service>.<namespace>.svc) or an IP address as host",
        )
    if store.cidr is not None:
        if in_cluster:
            yield ConfigIssue(
                _store_path("cidr"),
                str(store.cidr),
                "host is a cluster DNS name, whose namespace the orchestrator may reach; remove cidr",
            )
        if store.cidr.prefixlen < WIDEST_DATABASE_PREFIX:
            yield ConfigIssue(
                _store_path("cidr"),
                str(store.cidr),
                f"opens the orchestrator's egress to {store.cidr.num_addresses} addresses for one database; "
                f"allowed: /{WIDEST_DATABASE_PREFIX} or narrower",
            )
        for forbidden, what in FORBIDDEN_EGRESS.items():
            if isinstance(forbidden, ipaddress.IPv4Network) and store.cidr.overlaps(forbidden):
                yield ConfigIssue(_store_path("cidr"), str(store.cidr), f"overlaps {what}; allowed: the database's own addresses")


def shared_store(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    orchestrator = config.orchestrator
    kind = orchestrator.store.kind
    replicas = orchestrator.replicas or 1
    if kind == "sqlite" and replicas > 1:
        yield ConfigIssue(
            key_path("orchestrator", "replicas"),
            replicas,
            "more than one replica needs a store they share, and store kind sqlite is a file on each pod's own "
            "volume (each replica would run its own queue and lose it with the pod); allowed: 1, or set "
            "orchestrator.store.kind to postgresql or cloudnativepg",
        )
    autoscaling = orchestrator.autoscaling
    if not autoscaling.enabled:
        return
    if kind == "sqlite":
        yield ConfigIssue(
            key_path("orchestrator", "autoscaling", "enabled"),
            True,
            "autoscaling adds replicas, which need a shared store; store kind sqlite runs one replica. Allowed: false, "
            "or set orchestrator.store.kind to postgresql or cloudnativepg",
        )
    if "keda" not in config.cluster.installed_addons:
        yield ConfigIssue(
            key_path("orchestrator", "autoscaling", "enabled"),
            True,
            "needs KEDA, which Airlock does not install: its ScaledObject would fail with 'no matches for kind'. "
            "Install KEDA (docs/aws.md, first deploy) and add 'keda' to cluster.installedAddons, or set enabled: false",
        )
    if autoscaling.max_replicas < replicas:
        yield ConfigIssue(
            key_path("orchestrator", "autoscaling", "maxReplicas"),
            autoscaling.max_replicas,
            f"is below orchestrator.replicas ({replicas}), the autoscaler's minimum; allowed: {replicas} or more",
        )


def airgapped_store(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    """An airgapped stack's state stays inside the VPC or the cluster."""
    if config.profile != "airgapped":
        return
    store = config.orchestrator.store
    if store.kind == "postgresql" and store.host and placement(store) == "outside":
        yield ConfigIssue(
            _store_path("host"),
            store.host,
            "an airgapped stack keeps its state inside the cluster or your network; allowed: a cluster DNS name "
            "(<service>.<namespace>.svc[.cluster.local]), a private (RFC 1918) IP address, or a name whose cidr "
            "lies inside RFC 1918",
        )
    if store.kind == "cloudnativepg":
        image = store.image
        if image is None:
            yield ConfigIssue(
                _store_path("image"),
                None,
                "an airgapped cluster cannot pull the operator's default PostgreSQL image; set image to "
                "ghcr.io/cloudnative-pg/postgresql:<version>@sha256:<digest> and copy it to your mirror",
            )
        elif ImageRef.parse(image).digest is None:
            yield ConfigIssue(_store_path("image"), image, "an airgapped stack references every image by digest: add @sha256:<digest>")
