"""The runtime's store, cluster side: what the orchestrator pod is told, what it mounts, whom it may reach.

* aws: ``AIRLOCK_STORE=aws:`` and every name the AWS backend reads (queue, dead-letter
  queue, table, audit and payload buckets), all from the one ``AwsServices`` the AWS
  platform hands over; the AWS endpoints are already among the pod's peers.
* postgresql / cloudnativepg: ``AIRLOCK_STORE=postgresql://USER@HOST:PORT/DB`` (never a
  password) and ``AIRLOCK_STORE_PASSWORD_FILE`` naming the Secret's ``password`` key,
  mounted read-only; one egress rule to exactly that server.
* cloudnativepg also creates the CloudNativePG ``Cluster`` in the orchestrator's namespace
  (the runtime can only mount Secrets of its own namespace, and the operator writes
  ``<cluster>-app`` next to the Cluster) and the policies its instances need inside this
  deny-by-default namespace.
* sqlite: nothing; the runtime's default is a file in its state directory (today's behaviour).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi_kubernetes as k8s

from components.config.addresses import PRIVATE_RANGES
from components.config.images import ImageRef
from components.config.naming import ORCHESTRATOR_NAMESPACE
from components.config.schema import ClusterDnsConfig, ImagesConfig, OrchestratorConfig, StoreConfig
from components.config.store import (
    CNPG_CLUSTER,
    CNPG_CLUSTER_LABEL,
    CNPG_PORT,
    PASSWORD_KEY,
    database,
    egress_cidr,
    host_namespace,
)
from components.workloads.contracts import AwsServices
from components.workloads.endpoints import orchestrator_pods
from components.workloads.network_policies import dns_egress_rule, ip_block, namespace_peer, policy_spec, tcp
from components.workloads.pod_security import Spec, env_value, metadata, mount
from components.workloads.scope import NamespaceScope
from runtime import contract
from runtime.store_pg.url import PASSWORD_FILE_ENV

STORE_PASSWORD_VOLUME = "store-password"
STORE_PASSWORD_DIR = "/var/run/secrets/airlock/store"
STORE_PASSWORD_FILE = f"{STORE_PASSWORD_DIR}/{PASSWORD_KEY}"
# The CloudNativePG instance manager's status API; the operator and the other instances call it.
CNPG_STATUS_PORT = 8000
# The Kubernetes API server, which every CloudNativePG instance manager talks to. Its address
# is the cluster's own (the 'kubernetes' Service's endpoints), never known to the stack, but
# always private: admitted on these ports inside RFC 1918 / ULA only, never the internet.
API_SERVER_PORTS = (443, 6443)


@dataclass
class StoreWiring:
    """What the orchestrator container gets for its store."""

    env: list[Spec] = field(default_factory=list)
    volumes: list[Spec] = field(default_factory=list)
    mounts: list[Spec] = field(default_factory=list)


def store_wiring(store: StoreConfig, aws: AwsServices | None) -> StoreWiring:
    wiring = StoreWiring()
    if store.kind == "aws":
        if aws is None:  # the config rules allow kind aws only on platform aws
            raise ValueError("orchestrator.store.kind 'aws' needs the AWS platform's stores")
        wiring.env += [
            env_value(contract.STORE_ENV, contract.AWS_STORE),
            env_value(contract.QUEUE_URL_ENV, aws.queue_url),
            env_value(contract.DEAD_LETTER_QUEUE_URL_ENV, aws.dead_letter_queue_url),
            env_value(contract.CHECKPOINT_TABLE_ENV, aws.checkpoint_table),
            env_value(contract.AUDIT_BUCKET_ENV, aws.audit_bucket),
            env_value(contract.PAYLOAD_BUCKET_ENV, aws.payload_bucket),
        ]
        return wiring
    server = database(store)
    if server is None:
        return wiring
    wiring.env += [
        env_value(contract.STORE_ENV, server.url),
        env_value(PASSWORD_FILE_ENV, STORE_PASSWORD_FILE),
    ]
    # Only the password key, readable by the runtime's group: the app secret also holds a URI with it.
    wiring.volumes.append(
        {
            "name": STORE_PASSWORD_VOLUME,
            "secret": {
                "secretName": server.password_secret,
                "items": [{"key": PASSWORD_KEY, "path": PASSWORD_KEY}],
                "defaultMode": 0o440,
            },
        }
    )
    wiring.mounts.append(mount(STORE_PASSWORD_VOLUME, STORE_PASSWORD_DIR, read_only=True))
    return wiring


def database_egress(store: StoreConfig) -> list[Spec]:
    """The orchestrator's egress rule to its database: that server's port and nothing more."""
    if store.kind == "cloudnativepg":
        return [{"to": [namespace_peer(ORCHESTRATOR_NAMESPACE, cnpg_pods())], "ports": tcp(CNPG_PORT)}]
    if store.kind != "postgresql" or not store.host:
        return []
    namespace = host_namespace(store.host)
    if namespace is not None:
        return [{"to": [namespace_peer(namespace)], "ports": tcp(store.port)}]
    cidr = egress_cidr(store)
    return [{"to": [ip_block(str(cidr))], "ports": tcp(store.port)}] if cidr is not None else []


def cnpg_pods() -> dict[str, str]:
    return {CNPG_CLUSTER_LABEL: CNPG_CLUSTER}


def cnpg_image(store: StoreConfig, images: ImagesConfig) -> str | None:
    """The Cluster's imageName: as configured, moved under images.mirror when one is set."""
    if store.image is None:
        return None
    ref = ImageRef.parse(store.image)
    return ref.with_registry(images.mirror) if images.mirror else str(ref)


def cluster_spec(orchestrator: OrchestratorConfig, images: ImagesConfig) -> Spec:
    store = orchestrator.store
    spec: Spec = {
        "instances": store.instances,
        # No network login for the postgres superuser: the runtime owns its database, nothing more.
        "enableSuperuserAccess": False,
        "bootstrap": {"initdb": {"database": store.database, "owner": store.user}},
        "storage": {"size": store.storage_size},
        # The instance pods carry Airlock's labels too, so audits can find them.
        "inheritedMetadata": {"labels": {"airlock.dev/role": "orchestrator", "app.kubernetes.io/part-of": "airlock"}},
    }
    if store.storage_class:
        spec["storage"]["storageClass"] = store.storage_class
    image = cnpg_image(store, images)
    if image is not None:
        spec["imageName"] = image
    return spec


def cnpg_policies(name: str, orchestrator: OrchestratorConfig, dns: ClusterDnsConfig, scope: NamespaceScope) -> None:
    """The instances' own peers in the orchestrator's deny-by-default namespace."""
    store = orchestrator.store
    instances = cnpg_pods()
    here = namespace_peer(ORCHESTRATOR_NAMESPACE, instances)
    clients = [namespace_peer(ORCHESTRATOR_NAMESPACE, orchestrator_pods()), here]
    if orchestrator.autoscaling.enabled:
        # KEDA's postgresql scaler counts queued tasks from the KEDA operator's pod.
        clients.append(namespace_peer(orchestrator.autoscaling.keda_namespace))
    operator = namespace_peer(store.operator_namespace)
    ingress = [
        {"from": clients + [operator], "ports": tcp(CNPG_PORT)},
        {"from": [operator, here], "ports": tcp(CNPG_STATUS_PORT)},
    ]
    api_server = [ip_block(str(network)) for network in PRIVATE_RANGES]
    egress = [
        dns_egress_rule(dns),
        {"to": [here], "ports": tcp(CNPG_PORT, CNPG_STATUS_PORT)},
        {"to": api_server, "ports": tcp(*API_SERVER_PORTS)},
    ]
    scope.policy(f"{name}-db-ingress", "runtime-db-ingress", policy_spec(instances, ingress=ingress))
    scope.policy(f"{name}-db-egress", "runtime-db-egress", policy_spec(instances, egress=egress))


def cnpg_cluster(
    name: str, orchestrator: OrchestratorConfig, images: ImagesConfig, scope: NamespaceScope
) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        f"{name}-db",
        api_version="postgresql.cnpg.io/v1",
        kind="Cluster",
        metadata=metadata(CNPG_CLUSTER, scope.name, "orchestrator", CNPG_CLUSTER),
        spec=cluster_spec(orchestrator, images),
        opts=scope.opts,
    )


def uses_database(store: StoreConfig) -> bool:
    return store.kind in ("postgresql", "cloudnativepg")
