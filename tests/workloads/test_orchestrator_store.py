"""The orchestrator's store and its queue-depth autoscaling, as synthesized (mock monitor + `airlock synth`).

Every manifest here already passed synth's schema validation (KEDA ScaledObject and
TriggerAuthentication, CloudNativePG Cluster: airlock/synth/crd_schemas); these tests check
what a deployer would notice: the env the runtime reads, the Secret it mounts, the peers it
may reach, the objects KEDA and CloudNativePG act on, and the AWS access behind them.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest

from airlock.synth.manifests import Manifest, ManifestError, validate
from support import shipped
from workload_manifests import env_of, get, in_namespace, kinds, peer_summary, pod_spec, synth_variant

from runtime import contract

NS = "airlock-orchestrator"
CNPG_IMAGE = "ghcr.io/cloudnative-pg/postgresql:17.11-202608310816-standard-bookworm@sha256:e8ffaff9d17011fb71f264d857c3b4c54cb86ed0443a4ecb0298cb96be708d4e"


def runtime_container(bundle) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    (container,) = pod_spec(get(bundle, "Deployment", NS, "orchestrator"))["containers"]
    return container


def policy_document(bundle, name: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return json.loads(bundle.one("aws:iam/rolePolicy:RolePolicy", name)["inputs"]["policy"])


# ----------------------------------------------------------------------------- aws


def test_aws_runtime_reads_every_store_name_from_the_stacks_own_resources() -> None:
    bundle = shipped("prod")
    env = env_of(runtime_container(bundle))
    outputs = bundle.outputs
    assert env[contract.STORE_ENV] == contract.AWS_STORE
    assert env[contract.QUEUE_URL_ENV] == outputs["workQueueUrl"]
    assert env[contract.DEAD_LETTER_QUEUE_URL_ENV] == outputs["deadLetterQueueUrl"]
    assert env[contract.CHECKPOINT_TABLE_ENV] == outputs["stateTableName"]
    assert env[contract.AUDIT_BUCKET_ENV] == outputs["auditBucketName"]
    assert env[contract.PAYLOAD_BUCKET_ENV] == outputs["payloadBucketName"]
    assert env["AWS_REGION"] == "us-east-1"
    assert outputs["payloadBucketName"] != outputs["auditBucketName"]


def test_the_payload_bucket_is_encrypted_expiring_and_not_locked() -> None:
    bundle = shipped("prod")
    bucket = bundle.one("aws:s3/bucket:Bucket", "runtime-stores-payload")["inputs"]
    name = bundle.outputs["payloadBucketName"]
    assert bucket["bucketPrefix"].endswith("-payload-") and not bucket.get("objectLockEnabled")
    assert not [r for r in bundle.of_type("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration") if r["inputs"]["bucket"] == name]
    (encryption,) = [r for r in bundle.of_type("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration") if r["inputs"]["bucket"] == name]
    by_default = encryption["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]
    audit = bundle.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "runtime-stores-audit")
    assert by_default["sseAlgorithm"] == "aws:kms"
    assert by_default["kmsMasterKeyId"] == audit["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"]
    (rule,) = bundle.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "runtime-stores-payload")["inputs"]["rules"]
    assert rule["status"] == "Enabled" and rule["expiration"] == {"days": 90}
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 7}
    logging = bundle.one("aws:s3/bucketLogging:BucketLogging", "runtime-stores-payload")["inputs"]
    assert logging["targetBucket"] == bundle.outputs["auditLogBucketName"] and logging["targetPrefix"] == "payload-bucket/"


def test_the_orchestrator_may_get_and_put_payload_objects_and_nothing_more_there() -> None:
    bundle = shipped("prod")
    name = bundle.outputs["payloadBucketName"]
    statements = policy_document(bundle, "runtime-stores-access")["Statement"]
    on_payloads = [s for s in statements if any(name in r for r in s["Resource"])]
    assert on_payloads == [
        {"Sid": "LargePayloads", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": [f"arn:aws:s3:::{name}/*"]}
    ]


def test_aws_autoscaling_reads_the_queue_with_pod_identity_and_no_keys() -> None:
    bundle = shipped("prod")
    (scaled,) = [s for s in kinds(bundle, "ScaledObject") if s["metadata"]["namespace"] == NS]
    spec = scaled["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "orchestrator"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (3, 12)
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "aws-sqs-queue"
    assert trigger["metadata"] == {"queueURL": bundle.outputs["workQueueUrl"], "queueLength": "8", "awsRegion": "us-east-1"}
    auth = get(bundle, "TriggerAuthentication", NS, trigger["authenticationRef"]["name"])
    assert auth["spec"] == {"podIdentity": {"provider": "aws", "identityOwner": "keda"}}
    # KEDA owns the replica count.
    assert "replicas" not in get(bundle, "Deployment", NS, "orchestrator")["spec"]
    # The KEDA operator's IRSA role: trusted by its service account only, reads this queue's depth only.
    trust = json.loads(bundle.one("aws:iam/role:Role", "keda-operator")["inputs"]["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert [v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub")] == ["system:serviceaccount:keda:keda-operator"]
    queue_arn = "arn:aws:sqs:us-east-1:123456789012:" + bundle.outputs["workQueueUrl"].rsplit("/", 1)[1]
    assert policy_document(bundle, "keda-operator-queue-depth")["Statement"] == [
        {"Sid": "WorkQueueDepth", "Effect": "Allow", "Action": ["sqs:GetQueueAttributes"], "Resource": [queue_arn]}
    ]
    assert bundle.outputs["kedaOperatorRoleArn"].endswith(":role/airlock-prod-keda-operator")


def test_without_autoscaling_there_is_no_scaler_and_no_keda_role() -> None:
    bundle = shipped("staging")
    assert [s for s in kinds(bundle, "ScaledObject") if s["metadata"]["namespace"] == NS] == []
    assert kinds(bundle, "TriggerAuthentication") == []
    assert not [r for r in bundle.of_type("aws:iam/role:Role") if r["name"] == "keda-operator"]
    assert "kedaOperatorRoleArn" not in bundle.outputs


# ----------------------------------------------------------------------------- cloudnativepg (onprem)


def test_onprem_runs_two_replicas_on_an_in_cluster_postgresql() -> None:
    bundle = shipped("onprem")
    (cluster,) = kinds(bundle, "Cluster")
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1" and cluster["metadata"]["namespace"] == NS
    spec = cluster["spec"]
    assert spec["instances"] == 3 and spec["storage"] == {"size": "20Gi"}
    assert spec["bootstrap"] == {"initdb": {"database": "airlock", "owner": "airlock"}}
    assert spec["enableSuperuserAccess"] is False
    # Pulled through the stack's mirror, by digest.
    assert spec["imageName"] == "harbor.dc1.example.com/airlock/" + CNPG_IMAGE.rsplit("/", 1)[1]

    container = runtime_container(bundle)
    env = env_of(container)
    name = cluster["metadata"]["name"]
    assert env[contract.STORE_ENV] == f"postgresql://airlock@{name}-rw.{NS}.svc:5432/airlock?sslmode=require"
    assert env["AIRLOCK_STORE_PASSWORD_FILE"] == "/var/run/secrets/airlock/store/password"
    volumes = {v["name"]: v for v in pod_spec(get(bundle, "Deployment", NS, "orchestrator"))["volumes"]}
    assert volumes["store-password"]["secret"] == {
        "secretName": f"{name}-app", "items": [{"key": "password", "path": "password"}], "defaultMode": 0o440
    }
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["store-password"] == {"name": "store-password", "mountPath": "/var/run/secrets/airlock/store", "readOnly": True}
    # The password itself appears nowhere in the pod: not in env, not in the URL.
    assert all("valueFrom" not in e for e in container["env"] if e["name"].startswith("AIRLOCK_STORE"))


def test_onprem_scales_on_the_postgresql_queue() -> None:
    bundle = shipped("onprem")
    (scaled,) = [s for s in kinds(bundle, "ScaledObject") if s["metadata"]["namespace"] == NS]
    spec = scaled["spec"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (2, 6)
    (trigger,) = spec["triggers"]
    meta = trigger["metadata"]
    assert trigger["type"] == "postgresql"
    assert (meta["host"], meta["port"], meta["userName"], meta["dbName"], meta["sslmode"]) == (
        f"runtime-db-rw.{NS}.svc", "5432", "airlock", "airlock", "require"
    )
    assert "FROM queue" in meta["query"] and "password" not in json.dumps(meta).lower()
    auth = get(bundle, "TriggerAuthentication", NS, trigger["authenticationRef"]["name"])
    assert auth["spec"] == {"secretTargetRef": [{"parameter": "password", "name": "runtime-db-app", "key": "password"}]}


def test_the_database_instances_get_exactly_their_peers() -> None:
    bundle = shipped("onprem")
    policies = {p["metadata"]["name"]: p["spec"] for p in in_namespace(bundle, NS, "NetworkPolicy")}
    instances = {"cnpg.io/cluster": "runtime-db"}
    ingress, egress = policies["runtime-db-ingress"], policies["runtime-db-egress"]
    assert ingress["podSelector"]["matchLabels"] == instances == egress["podSelector"]["matchLabels"]
    here = (("kubernetes.io/metadata.name", NS),)
    allowed_in = {peer for rule in ingress["ingress"] for peer in peer_summary(rule)}
    assert allowed_in == {
        (here, (("airlock.dev/role", "orchestrator"), ("app.kubernetes.io/name", "orchestrator")), (("TCP", 5432),)),
        (here, (("cnpg.io/cluster", "runtime-db"),), (("TCP", 5432),)),
        ((("kubernetes.io/metadata.name", "keda"),), (), (("TCP", 5432),)),
        ((("kubernetes.io/metadata.name", "cnpg-system"),), (), (("TCP", 5432),)),
        ((("kubernetes.io/metadata.name", "cnpg-system"),), (), (("TCP", 8000),)),
        (here, (("cnpg.io/cluster", "runtime-db"),), (("TCP", 8000),)),
    }
    # Egress: DNS, each other, and the API server at a private address; never the internet.
    for rule in egress["egress"]:
        for peer in rule["to"]:
            if "ipBlock" in peer:
                assert ipaddress.ip_network(peer["ipBlock"]["cidr"]).is_private
                assert {p["port"] for p in rule["ports"]} == {443, 6443}


def test_a_cluster_dns_or_private_address_server_is_the_only_new_peer(tmp_path: Path) -> None:
    def external(host: str, **extra: Any):  # type: ignore[no-untyped-def]
        def edit(config: dict[str, Any]) -> None:
            config["airlock:cluster"]["installedAddons"] = []
            config["airlock:orchestrator"] = {
                "replicas": 3, "store": {"kind": "postgresql", "host": host, "passwordSecret": "runtime-pg", **extra}
            }

        return edit

    in_cluster = synth_variant(tmp_path / "svc", "onprem", external("pg-rw.databases.svc", port=6432))
    address = synth_variant(tmp_path / "ip", "onprem", external("10.20.0.15"))
    for bundle, peer in (
        (in_cluster, ((("kubernetes.io/metadata.name", "databases"),), (), (("TCP", 6432),))),
        (address, ("ipBlock", "10.20.0.15/32", (), (("TCP", 5432),))),
    ):
        egress = next(p for p in in_namespace(bundle, NS, "NetworkPolicy") if p["metadata"]["name"] == "orchestrator-egress")
        peers = {peer for rule in egress["spec"]["egress"] for peer in peer_summary(rule)}
        assert peer in peers
        assert kinds(bundle, "Cluster") == [] and kinds(bundle, "TriggerAuthentication") == []
        env = env_of(runtime_container(bundle))
        volumes = {v["name"]: v for v in pod_spec(get(bundle, "Deployment", NS, "orchestrator"))["volumes"]}
        assert volumes["store-password"]["secret"]["secretName"] == "runtime-pg"
        assert get(bundle, "Deployment", NS, "orchestrator")["spec"]["replicas"] == 3
    assert env_of(runtime_container(in_cluster))[contract.STORE_ENV] == "postgresql://airlock@pg-rw.databases.svc:6432/airlock?sslmode=require"
    assert env_of(runtime_container(address))[contract.STORE_ENV] == "postgresql://airlock@10.20.0.15:5432/airlock?sslmode=require"


def test_sqlite_keeps_todays_single_pod_store(tmp_path: Path) -> None:
    def edit(config: dict[str, Any]) -> None:
        config["airlock:cluster"]["installedAddons"] = []
        del config["airlock:orchestrator"]

    bundle = synth_variant(tmp_path, "onprem", edit)
    deployment = get(bundle, "Deployment", NS, "orchestrator")
    assert deployment["spec"]["replicas"] == 1
    assert contract.STORE_ENV not in env_of(runtime_container(bundle))
    assert in_namespace(bundle, NS, "PodDisruptionBudget") == [] and kinds(bundle, "Cluster") == []
    assert [p["metadata"]["name"] for p in in_namespace(bundle, NS, "NetworkPolicy")] == [
        "default-deny", "orchestrator-egress", "orchestrator-ingress"
    ]


# ----------------------------------------------------------------------------- schemas


@pytest.mark.parametrize(
    ("kind", "edit", "where"),
    [
        ("Cluster", lambda o: o["spec"].update(instancez=3), "at spec:"),
        ("Cluster", lambda o: o["spec"]["bootstrap"]["initdb"].update(ownr="x"), "at spec.bootstrap.initdb:"),
        ("Cluster", lambda o: o["spec"].pop("instances"), "at spec:"),
        ("TriggerAuthentication", lambda o: o["spec"].update(podIdentity={"provider": "aws-static"}), "at spec.podIdentity.provider:"),
        ("TriggerAuthentication", lambda o: o["spec"]["secretTargetRef"][0].pop("key"), "at spec.secretTargetRef.0:"),
    ],
)
def test_synth_validation_refuses_a_broken_custom_resource(kind: str, edit, where: str) -> None:  # type: ignore[no-untyped-def]
    import copy

    (obj,) = [m for m in kinds(shipped("onprem"), kind) if m["metadata"]["namespace"] == NS]
    validate(Manifest(obj), "1.31")  # as synthesized: valid
    broken = copy.deepcopy(obj)
    edit(broken)
    with pytest.raises(ManifestError) as raised:
        validate(Manifest(broken), "1.31")
    assert f"{kind} '" in str(raised.value) and where in str(raised.value)
