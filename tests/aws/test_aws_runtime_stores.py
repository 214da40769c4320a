"""The runtime's queue, table and audit bucket, and the orchestrator's access to them."""

from __future__ import annotations

import json

import pytest

from aws_bundle import AWS_STACKS, as_list, for_bucket, role_policies
from support import shipped, stack_document


def queues(stack: str) -> dict[str, dict]:
    return {q["inputs"]["name"]: q["inputs"] for q in shipped(stack).of_type("aws:sqs/queue:Queue")}


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_work_queue_redrives_to_an_encrypted_dead_letter_queue(stack: str) -> None:
    found = queues(stack)
    work, dead = found[f"airlock-{stack}-work"], found[f"airlock-{stack}-work-dlq"]
    redrive = json.loads(work["redrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(f":airlock-{stack}-work-dlq")
    assert redrive["maxReceiveCount"] >= 1
    for queue in (work, dead):
        assert queue["kmsMasterKeyId"].startswith("arn:aws:kms:")


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_state_table_has_pitr_and_kms(stack: str) -> None:
    table = shipped(stack).one("aws:dynamodb/table:Table")["inputs"]
    assert table["pointInTimeRecovery"]["enabled"] is True
    assert table["serverSideEncryption"]["enabled"] is True
    assert table["serverSideEncryption"]["kmsKeyArn"].startswith("arn:aws:kms:")
    assert (table["hashKey"], table["rangeKey"]) == ("pk", "sk")


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_every_bucket_is_fully_public_blocked_and_tls_only(stack: str) -> None:
    bundle = shipped(stack)
    buckets = bundle.of_type("aws:s3/bucket:Bucket")
    assert len(buckets) >= 2
    for bucket in buckets:
        (block,) = for_bucket(bundle, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket)
        for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
            assert block["inputs"][flag] is True, (bucket["name"], flag)
        (policy,) = for_bucket(bundle, "aws:s3/bucketPolicy:BucketPolicy", bucket)
        tls = [
            s
            for s in json.loads(policy["inputs"]["policy"])["Statement"]
            if s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        ]
        assert len(tls) == 1 and tls[0]["Action"] == ["s3:*"] and tls[0]["Principal"] == "*", bucket["name"]
        (encryption,) = for_bucket(bundle, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", bucket)
        assert encryption["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] in ("aws:kms", "AES256")


def audit_bucket(bundle) -> dict:
    return bundle.one("aws:s3/bucket:Bucket", "runtime-stores-audit")


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_audit_bucket_is_locked_in_compliance_mode_for_the_configured_retention(stack: str) -> None:
    bundle = shipped(stack)
    bucket = audit_bucket(bundle)
    assert bucket["inputs"]["objectLockEnabled"] is True
    assert bundle.outputs["auditBucketName"].startswith(bucket["inputs"]["bucketPrefix"])
    retention = stack_document(stack)["config"].get("airlock:orchestrator", {}).get("auditRetentionDays", 365)
    (lock,) = for_bucket(bundle, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", bucket)
    assert lock["inputs"]["rule"]["defaultRetention"] == {"mode": "COMPLIANCE", "days": retention}
    (versioning,) = for_bucket(bundle, "aws:s3/bucketVersioning:BucketVersioning", bucket)
    assert versioning["inputs"]["versioningConfiguration"]["status"] == "Enabled"
    (encryption,) = for_bucket(bundle, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", bucket)
    default = encryption["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] == "aws:kms" and default["kmsMasterKeyId"].startswith("arn:aws:kms:")


def test_prod_keeps_audit_records_for_seven_years() -> None:
    bundle = shipped("prod")
    (lock,) = for_bucket(bundle, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", audit_bucket(bundle))
    assert lock["inputs"]["rule"]["defaultRetention"]["days"] == 2555


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_audit_bucket_access_is_logged_to_the_log_bucket(stack: str) -> None:
    bundle = shipped(stack)
    (logging,) = for_bucket(bundle, "aws:s3/bucketLogging:BucketLogging", audit_bucket(bundle))
    assert logging["inputs"]["targetBucket"] == bundle.outputs["auditLogBucketName"]
    log_bucket = bundle.one("aws:s3/bucket:Bucket", "runtime-stores-audit-logs")
    (policy,) = for_bucket(bundle, "aws:s3/bucketPolicy:BucketPolicy", log_bucket)
    # Log delivery may write exactly the audit bucket's and the payload bucket's logs, each under its prefix.
    deliveries = [s for s in json.loads(policy["inputs"]["policy"])["Statement"] if s["Effect"] == "Allow"]
    assert {d["Principal"]["Service"] for d in deliveries} == {"logging.s3.amazonaws.com"}
    sources = {d["Condition"]["ArnLike"]["aws:SourceArn"]: d["Resource"] for d in deliveries}
    log_arn = f"arn:aws:s3:::{bundle.outputs['auditLogBucketName']}"
    assert sources == {
        f"arn:aws:s3:::{bundle.outputs['auditBucketName']}": [f"{log_arn}/audit-bucket/*"],
        f"arn:aws:s3:::{bundle.outputs['payloadBucketName']}": [f"{log_arn}/payload-bucket/*"],
    }


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_orchestrator_policy_names_exactly_its_stores(stack: str) -> None:
    bundle = shipped(stack)
    statements = role_policies(bundle, f"airlock-{stack}-orchestrator")
    resources = {r for s in statements for r in as_list(s["Resource"])}
    assert "*" not in resources
    outputs = bundle.outputs
    expected_prefixes = (
        f"arn:aws:sqs:us-east-1:123456789012:airlock-{stack}-work",
        f"arn:aws:dynamodb:us-east-1:123456789012:table/{outputs['stateTableName']}",
        f"arn:aws:s3:::{outputs['auditBucketName']}",
        f"arn:aws:s3:::{outputs['payloadBucketName']}/",
        "arn:aws:kms:us-east-1:123456789012:key/",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:",
    )
    for resource in resources:
        assert resource.startswith(expected_prefixes), resource
    # Append-only: the runtime can neither delete audit records nor state items.
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert not {"s3:DeleteObject", "s3:DeleteObjectVersion", "dynamodb:DeleteItem", "s3:PutObjectRetention"} & actions
    assert {"sqs:SendMessage", "sqs:ReceiveMessage", "dynamodb:PutItem", "dynamodb:Query", "s3:PutObject"} <= actions
