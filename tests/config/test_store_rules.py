"""orchestrator.store and orchestrator.autoscaling: one clear message per mistake, naming the key.

Replicas share a store or there is one replica; the platform decides which kinds exist; each
kind reads only its own keys; airgapped stacks keep the database inside; autoscaling needs
KEDA and a queue to read.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.config.errors import ConfigError
from components.config.loader import flatten, load
from support import PROJECT_DIR, stack_document

IMAGE = "ghcr.io/cloudnative-pg/postgresql:17.11-202608310816-standard-bookworm@sha256:e8ffaff9d17011fb71f264d857c3b4c54cb86ed0443a4ecb0298cb96be708d4e"


def onprem(orchestrator: dict[str, Any] | None = None, addons: list[str] | None = None, profile: str | None = None) -> dict[str, Any]:
    """The shipped onprem stack with its orchestrator block (and add-ons) replaced."""
    config = copy.deepcopy(stack_document("onprem")["config"])
    if orchestrator is not None:
        config["airlock:orchestrator"] = orchestrator
    if addons is not None:
        config["airlock:cluster"]["installedAddons"] = addons
    if profile is not None:
        config["airlock:profile"] = profile
    return config


def issues(config: dict[str, Any], stack: str = "onprem") -> list[str]:
    try:
        load(flatten(config), stack, PROJECT_DIR)
    except ConfigError as error:
        return [str(issue) for issue in error.issues if issue.severity == "error"]
    return []


def loaded(config: dict[str, Any], stack: str = "onprem"):  # type: ignore[no-untyped-def]
    return load(flatten(config), stack, PROJECT_DIR).config


def test_the_shipped_stacks_resolve_their_stores() -> None:
    assert loaded(onprem()).orchestrator.store.kind == "cloudnativepg"
    staging = loaded(stack_document("staging")["config"], "staging").orchestrator  # no orchestrator block
    assert (staging.store.kind, staging.replicas) == ("aws", 2)


def test_sqlite_is_the_kubernetes_default_with_one_replica() -> None:
    orchestrator = loaded(onprem({}, addons=[])).orchestrator
    assert (orchestrator.store.kind, orchestrator.replicas) == ("sqlite", 1)


def test_more_than_one_replica_needs_a_shared_store() -> None:
    (message,) = issues(onprem({"replicas": 3}, addons=[]))
    assert message.startswith("airlock:orchestrator.replicas = 3: ")
    assert "sqlite" in message and "allowed: 1, or set orchestrator.store.kind to postgresql or cloudnativepg" in message


def test_autoscaling_needs_keda_and_a_shared_store() -> None:
    found = issues(onprem({"autoscaling": {"enabled": True}}, addons=[]))
    assert len(found) == 2 and all(m.startswith("airlock:orchestrator.autoscaling.enabled = true: ") for m in found)
    assert any("store kind sqlite runs one replica" in m for m in found)
    assert any("needs KEDA" in m and "cluster.installedAddons" in m for m in found)


def test_autoscaling_maximum_is_not_below_the_minimum() -> None:
    store = {"kind": "cloudnativepg", "image": IMAGE}
    (message,) = issues(onprem({"replicas": 4, "store": store, "autoscaling": {"enabled": True, "maxReplicas": 3}}))
    assert message.startswith("airlock:orchestrator.autoscaling.maxReplicas = 3: ") and "allowed: 4 or more" in message


def test_cloudnativepg_needs_its_operator() -> None:
    (message,) = issues(onprem({"store": {"kind": "cloudnativepg", "image": IMAGE}}, addons=[]))
    assert message.startswith('airlock:orchestrator.store.kind = "cloudnativepg": ')
    assert "add 'cloudnativepg' to cluster.installedAddons" in message


def test_the_platform_decides_which_stores_exist() -> None:
    (on_k8s,) = issues(onprem({"store": {"kind": "aws"}}, addons=[]))
    assert on_k8s.startswith('airlock:orchestrator.store.kind = "aws": ') and "sqlite, postgresql, cloudnativepg" in on_k8s
    dev = copy.deepcopy(stack_document("dev")["config"])
    dev["airlock:orchestrator"] = {**dev.get("airlock:orchestrator", {}), "store": {"kind": "sqlite"}}
    (on_aws,) = issues(dev, "dev")
    assert on_aws.startswith('airlock:orchestrator.store.kind = "sqlite": ') and "allowed: aws" in on_aws


def test_a_key_of_another_kind_is_refused() -> None:
    (message,) = issues(onprem({"store": {"kind": "cloudnativepg", "image": IMAGE, "host": "db.example.com"}}))
    assert message.startswith('airlock:orchestrator.store.host = "db.example.com": ')
    assert "applies only to kind postgresql, not to kind cloudnativepg" in message


def test_an_external_server_needs_host_and_password_secret() -> None:
    found = issues(onprem({"store": {"kind": "postgresql"}}, addons=[]))
    assert sorted(m.split(" = ")[0] for m in found) == ["airlock:orchestrator.store.host", "airlock:orchestrator.store.passwordSecret"]


@pytest.mark.parametrize(
    ("store", "key", "phrase"),
    [
        ({"host": "db.corp.example.com"}, "cidr", "a NetworkPolicy admits addresses, not names"),
        ({"host": "10.1.2.3", "cidr": "10.9.0.0/24"}, "cidr", "does not contain host 10.1.2.3"),
        ({"host": "db.corp.example.com", "cidr": "10.0.0.0/8"}, "cidr", "allowed: /16 or narrower"),
        ({"host": "169.254.169.254"}, "host", "instance metadata service"),
        ({"host": "pg-rw.db.svc", "cidr": "10.1.0.0/24"}, "cidr", "cluster DNS name"),
    ],
)
def test_an_external_servers_address_is_checked(store: dict[str, Any], key: str, phrase: str) -> None:
    found = issues(onprem({"store": {"kind": "postgresql", "passwordSecret": "pg", **store}}, addons=[], profile="hybrid"))
    assert any(m.startswith(f"airlock:orchestrator.store.{key} = ") and phrase in m for m in found), found


@pytest.mark.parametrize(
    ("store", "inside"),
    [
        ({"host": "pg-rw.databases.svc.cluster.local"}, True),
        ({"host": "10.20.0.15"}, True),
        ({"host": "db.corp.example.com", "cidr": "192.168.40.0/24"}, True),
        ({"host": "203.0.113.10"}, False),
        ({"host": "db.example.com", "cidr": "203.0.113.0/24"}, False),
    ],
)
def test_an_airgapped_stack_keeps_its_database_inside(store: dict[str, Any], inside: bool) -> None:
    found = issues(onprem({"store": {"kind": "postgresql", "passwordSecret": "pg", **store}}, addons=[]))
    outside = [m for m in found if "keeps its state inside the cluster or your network" in m]
    assert (outside == []) == inside, found
    if not inside:
        assert outside[0].startswith(f'airlock:orchestrator.store.host = "{store["host"]}": ')


def test_an_airgapped_cluster_names_its_postgresql_image_by_digest() -> None:
    (missing,) = issues(onprem({"store": {"kind": "cloudnativepg"}}))
    assert missing.startswith("airlock:orchestrator.store.image = null: ") and "@sha256:<digest>" in missing
    (tagged,) = issues(onprem({"store": {"kind": "cloudnativepg", "image": "ghcr.io/cloudnative-pg/postgresql:17.11"}}))
    assert tagged.startswith('airlock:orchestrator.store.image = "ghcr.io/cloudnative-pg/postgresql:17.11": ')
    assert issues(onprem({"store": {"kind": "cloudnativepg"}}, profile="hybrid")) == []
