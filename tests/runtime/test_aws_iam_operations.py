"""The orchestrator's IAM policy (prod bundle) allows exactly the AWS operations the store backend calls.

The operations are not listed by hand: the moto proxy journals every request the runtime
makes while the AWS suites run (the behaviour suite on ``aws`` and the backend's own
``test_aws_*`` / ``test_store_aws*`` modules), with the role of the resource it hit (work
queue, dead-letter queue, table, audit bucket, payload bucket). In a full run this test is
moved after those suites and reads the session's journal; run on its own, it runs them in a
child pytest first. Each request is mapped to the IAM
actions AWS authorises it with, and compared with the RolePolicy statements that
components/aws/runtime_stores.py attaches to the orchestrator's role in ``airlock synth prod``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aws_moto import AWS_CALLS_FILE_ENV, IamCheckPlan, backend_suites

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
STACK = "prod"

# DynamoDB's transactions are authorised per item, by the item action's own IAM action.
ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
    "PutRequest": "dynamodb:PutItem",
    "DeleteRequest": "dynamodb:DeleteItem",
}
# S3 operations whose IAM action differs from their name; which ARN (bucket or its objects) they need.
S3_ACTIONS = {
    "PutObject": ("s3:PutObject", "objects"),
    "GetObject": ("s3:GetObject", "objects"),
    "HeadObject": ("s3:GetObject", "objects"),
    "GetObjectVersion": ("s3:GetObjectVersion", "objects"),
    "HeadObjectVersion": ("s3:GetObjectVersion", "objects"),
    "ListObjectVersions": ("s3:ListBucketVersions", "bucket"),
    "ListObjectsV2": ("s3:ListBucket", "bucket"),
    "ListObjects": ("s3:ListBucket", "bucket"),
    "GetBucketLocation": ("s3:GetBucketLocation", "bucket"),
}


def required(call: dict[str, Any]) -> set[tuple[str, str]]:
    """(IAM action, resource) pairs that authorise one recorded request; resource is a role
    ("queue", "table", ...) or for S3 "<bucket role>" / "<bucket role>/*"."""
    service, operation, role, item, status = (call[k] for k in ("service", "operation", "role", "item", "status"))
    if service == "sqs":
        return {(f"sqs:{operation}", role)}
    if service == "dynamodb":
        action = ITEM_ACTIONS.get(item) if item != operation else f"dynamodb:{operation}"
        assert action, f"unknown DynamoDB item action {item} in {operation}"
        return {(action, role)}
    assert service == "s3", call
    action, on = S3_ACTIONS[item]
    needs = {(action, f"{role}/*" if on == "objects" else role)}
    if item in ("GetObject", "HeadObject") and status == 404:
        # S3 answers a missing key with 404 only to a caller allowed s3:ListBucket (else 403).
        needs.add(("s3:ListBucket", role))
    return needs


def granted(bundle: Any) -> set[tuple[str, str]]:
    """(action, resource role) pairs the orchestrator's policy allows on the store's resources."""
    aws_bundle = _aws_bundle()
    as_list, role_policies = aws_bundle.as_list, aws_bundle.role_policies
    outputs = bundle.outputs
    arns = {
        f"arn:aws:sqs:us-east-1:123456789012:airlock-{STACK}-work": "queue",
        f"arn:aws:sqs:us-east-1:123456789012:airlock-{STACK}-work-dlq": "dead_letter_queue",
        f"arn:aws:dynamodb:us-east-1:123456789012:table/{outputs['stateTableName']}": "table",
        f"arn:aws:s3:::{outputs['auditBucketName']}": "audit_bucket",
        f"arn:aws:s3:::{outputs['auditBucketName']}/*": "audit_bucket/*",
        f"arn:aws:s3:::{outputs['payloadBucketName']}": "payload_bucket",
        f"arn:aws:s3:::{outputs['payloadBucketName']}/*": "payload_bucket/*",
    }
    pairs = set()
    for statement in role_policies(bundle, f"airlock-{STACK}-orchestrator"):
        assert statement["Effect"] == "Allow"
        for resource in as_list(statement["Resource"]):
            if resource.startswith(("arn:aws:kms:", "arn:aws:secretsmanager:")):
                continue  # the data key (used through SQS and S3) and platform secrets: not store calls
            assert resource in arns, f"the orchestrator may act on {resource}, which the store does not use"
            pairs |= {(action, arns[resource]) for action in as_list(statement["Action"])}
    return pairs


def _aws_bundle() -> Any:
    """tests/aws/aws_bundle.py, loaded by path (tests/aws is not on sys.path from here)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("aws_bundle", REPO / "tests" / "aws" / "aws_bundle.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("aws_bundle", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def backend_calls(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Every call the runtime made while the AWS suites ran: in this session when they all ran
    before this test (the full run: no suite runs twice), else in a child pytest run for it."""
    if IamCheckPlan.in_session:
        return list(request.getfixturevalue("aws_emulator").used_operations())
    journal = tmp_path_factory.mktemp("aws-calls") / "calls.json"
    # -k aws: every test of the backend's modules, and the behaviour suite's tests on aws.
    args = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *backend_suites(HERE), "-k", "aws"]
    proc = subprocess.run(
        args, cwd=HERE, env={**os.environ, AWS_CALLS_FILE_ENV: str(journal)}, capture_output=True, text=True, timeout=1500
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return list(json.loads(journal.read_text()))


def test_the_policy_allows_exactly_what_the_backend_calls(backend_calls):
    from support import shipped

    bundle = shipped(STACK)
    used: set[tuple[str, str]] = set()
    for call in backend_calls:
        used |= required(call)
    allowed = granted(bundle)
    missing = sorted(used - allowed)
    unused = sorted(allowed - used)
    operations = sorted({f"{c['service']}:{c['operation']} ({c['role']})" for c in backend_calls})
    print("AWS operations the backend called:\n  " + "\n  ".join(operations))
    assert not missing, f"the backend calls these, the policy does not allow them: {missing}"
    assert not unused, f"the policy allows these, the backend never calls them: {unused}"


def test_the_data_key_is_usable_only_through_the_services_whose_encrypted_stores_the_backend_calls(backend_calls):
    """SQS and S3 (SSE-KMS) need the caller to be allowed the key; DynamoDB uses its own grant."""
    from support import shipped

    aws_bundle = _aws_bundle()
    statements = [
        s
        for s in aws_bundle.role_policies(shipped(STACK), f"airlock-{STACK}-orchestrator")
        if any(r.startswith("arn:aws:kms:") for r in aws_bundle.as_list(s["Resource"]))
        and "kms:GenerateDataKey" in aws_bundle.as_list(s["Action"])  # not the secrets' key (read only)
    ]
    (key,) = statements
    assert sorted(aws_bundle.as_list(key["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey"]
    via = set(aws_bundle.as_list(key["Condition"]["StringEquals"]["kms:ViaService"]))
    called = {c["service"] for c in backend_calls} - {"dynamodb"}
    assert via == {f"{service}.us-east-1.amazonaws.com" for service in called}
