"""The audit chain in the Object-Locked bucket (runtime/store_aws/audit.py), against moto over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from aws_moto import AwsResources, Fault, audit_records, hide_audit_records, tamper_audit

from runtime.audit import GENESIS
from runtime.errors import StateUnusable
from runtime.store_aws.audit import S3AuditLog, read_head, record_key, verify

REPO = Path(__file__).resolve().parents[2]


def clients(aws: AwsResources):  # type: ignore[no-untyped-def]
    """Clients the way the runtime makes them: env only (through the proxy), botocore retries."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "total_max_attempts": 5})
    saved = dict(os.environ)
    os.environ.update(aws.env)
    try:
        return boto3.client("s3", config=config), boto3.client("dynamodb", config=config)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def open_log(aws: AwsResources) -> S3AuditLog:
    s3, dynamodb = clients(aws)
    return S3AuditLog(s3, dynamodb, aws.audit_bucket, aws.table)


def verify_bucket(aws: AwsResources):  # type: ignore[no-untyped-def]
    s3, dynamodb = clients(aws)
    return verify(s3, dynamodb, aws.audit_bucket, aws.table)


def append_some(log: S3AuditLog, count: int, *, writer: str = "t") -> list[tuple[int, str]]:
    return [log.append("step", {"writer": writer, "n": n}, task_id=f"task-{writer}", agent_version="v1") for n in range(count)]


def test_records_are_the_file_logs_records_one_object_each_and_the_head_follows(aws):
    log = open_log(aws)
    heads = append_some(log, 4)
    assert [seq for seq, _ in heads] == [1, 2, 3, 4]
    records = audit_records(aws)
    assert [r["seq"] for r in records] == [1, 2, 3, 4] and records[0]["prev_hash"] == GENESIS
    assert [r["hash"] for r in records] == [h for _, h in heads]
    assert records[2]["data"] == {"writer": "t", "n": 2} and records[2]["task_id"] == "task-t"
    assert read_head(aws.client("dynamodb"), aws.table) == heads[-1] == log.head
    result = verify_bucket(aws)
    assert result.ok and result.records == 4, result.message
    # Object Lock holds each record: COMPLIANCE retention on the one version it has; even its
    # deletion by version id (what could truly remove a record) is refused.
    s3 = aws.client("s3")
    stored = s3.head_object(Bucket=aws.audit_bucket, Key=record_key(1))
    assert stored["ObjectLockMode"] == "COMPLIANCE"
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=aws.audit_bucket, Key=record_key(1), VersionId=stored["VersionId"])


def test_an_empty_bucket_verifies_as_an_empty_chain(aws):
    result = verify_bucket(aws)
    assert result.ok and result.records == 0


WRITER = textwrap.dedent(
    """
    import boto3, sys
    from runtime.store_aws.audit import S3AuditLog
    bucket, table, name, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    log = S3AuditLog(boto3.client("s3"), boto3.client("dynamodb"), bucket, table)
    for n in range(count):
        log.append("step", {"writer": name, "n": n}, task_id=name, agent_version="v1")
    """
)


def test_two_writer_processes_extend_one_chain(aws, aws_emulator):
    count = 25
    env = {**os.environ, **aws.env, "PYTHONPATH": str(REPO)}
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, aws.audit_bucket, aws.table, name, str(count)], env=env, cwd=REPO)
        for name in ("a", "b")
    ]
    assert [w.wait(timeout=300) for w in writers] == [0, 0]
    records = audit_records(aws)
    assert [r["seq"] for r in records] == list(range(1, 2 * count + 1))
    for name in ("a", "b"):  # each writer's records, all there, once, in its own order
        assert [r["data"]["n"] for r in records if r["data"]["writer"] == name] == list(range(count))
    assert read_head(aws.client("dynamodb"), aws.table) == (2 * count, records[-1]["hash"])
    result = verify_bucket(aws)
    assert result.ok and result.records == 2 * count, result.message
    # Both raced for the same keys: S3 refused the losers' puts (412), nothing was overwritten.
    puts = [c for c in aws_emulator.proxy.calls_on([aws.audit_bucket]) if c.operation == "PutObject"]
    assert len(puts) >= 2 * count
    versions = aws.client("s3").list_object_versions(Bucket=aws.audit_bucket)["Versions"]
    assert len(versions) == 2 * count


def test_worker_threads_sharing_one_log_extend_one_chain(aws):
    """serve's workers are threads of one process sharing the store's log: their appends must
    neither refuse each other nor move the head item back (found by bench/store_overhead.py)."""
    from concurrent.futures import ThreadPoolExecutor

    log, threads, count = open_log(aws), 4, 15
    with ThreadPoolExecutor(threads) as pool:
        done = list(pool.map(lambda name: append_some(log, count, writer=name), [f"w{i}" for i in range(threads)]))
    records = audit_records(aws)
    assert sorted(seq for heads in done for seq, _ in heads) == list(range(1, threads * count + 1))
    assert [r["seq"] for r in records] == list(range(1, threads * count + 1))
    assert read_head(aws.client("dynamodb"), aws.table) == (threads * count, records[-1]["hash"])
    result = verify_bucket(aws)
    assert result.ok and result.records == threads * count, result.message


def test_an_object_past_the_head_that_does_not_follow_it_stops_appends(aws):
    append_some(open_log(aws), 2)
    aws.client("s3").put_object(Bucket=aws.audit_bucket, Key=record_key(3), Body=b'{"not": "a record"}\n')
    with pytest.raises(StateUnusable, match="records/00000000000000000003.json does not follow the chain head seq 2"):
        open_log(aws).append("step", {"after": "crash"})
    assert len(audit_records(aws)) == 3  # nothing was written over it


def test_a_crashed_writers_valid_record_is_adopted(aws):
    from runtime.audit import chained_record
    from runtime.canonical import canonical_json

    log = open_log(aws)
    heads = append_some(log, 2)
    orphan = chained_record(*heads[-1], "step", {"orphan": True}, task_id=None, agent_version=None)
    aws.client("s3").put_object(
        Bucket=aws.audit_bucket, Key=record_key(3), Body=(canonical_json(orphan) + "\n").encode(), IfNoneMatch="*"
    )
    assert read_head(aws.client("dynamodb"), aws.table)[0] == 2  # the writer died before the head moved
    assert verify_bucket(aws).ok  # a chain running ahead of its head is whole
    other = open_log(aws)
    assert other.append("step", {"after": "crash"})[0] == 4
    assert [r["data"] for r in audit_records(aws)][2:] == [{"orphan": True}, {"after": "crash"}]
    assert verify_bucket(aws).records == 4


def test_a_new_version_of_a_record_is_tampering(aws):
    append_some(open_log(aws), 5)
    tamper_audit(aws, 3)
    result = verify_bucket(aws)
    assert not result.ok and result.bad_seq == 3
    assert "content does not match its hash" in result.message and "2 versions" in result.message


def test_a_byte_identical_rewrite_is_still_tampering(aws):
    append_some(open_log(aws), 4)
    tamper_audit(aws, 2, same_bytes=True)
    result = verify_bucket(aws)
    assert not result.ok and result.bad_seq == 2 and "has 2 versions" in result.message


def test_records_hidden_at_the_end_are_caught_by_the_head(aws):
    append_some(open_log(aws), 5)
    hide_audit_records(aws, 4, 5)
    result = verify_bucket(aws)
    assert not result.ok and result.bad_seq == 4
    assert "the log ends at seq 3" in result.message and "recorded seq 5" in result.message


def test_a_record_hidden_in_the_middle_breaks_the_chain(aws):
    append_some(open_log(aws), 5)
    hide_audit_records(aws, 2)
    result = verify_bucket(aws)
    assert not result.ok and "expected seq 2" in result.message


def test_throttling_and_5xx_on_the_append_path_are_retried_without_duplicates(aws, aws_emulator):
    proxy = aws_emulator.proxy
    log = open_log(aws)
    append_some(log, 1)
    faults = [
        proxy.inject(Fault("s3", "PutObject", "throttle", times=2, resource=aws.audit_bucket)),
        proxy.inject(Fault("dynamodb", "UpdateItem", "throttle", times=2)),
        proxy.inject(Fault("dynamodb", "GetItem", 500, times=1)),
        # S3 stores the record but the answer is lost: botocore's retry meets If-None-Match.
        proxy.inject(Fault("s3", "PutObject", 503, times=1, resource=aws.audit_bucket, after_forward=True)),
        # The head moves but the answer is lost: the retry's condition fails, the append is still done.
        proxy.inject(Fault("dynamodb", "UpdateItem", 500, times=1, after_forward=True)),
    ]
    fresh = open_log(aws)  # reads the head: meets the GetItem fault
    append_some(fresh, 3, writer="f")
    assert [f.injected for f in faults] == [2, 2, 1, 1, 1]
    records = audit_records(aws)
    assert [r["seq"] for r in records] == [1, 2, 3, 4]
    assert [r["data"]["n"] for r in records[1:]] == [0, 1, 2]  # each once
    versions = aws.client("s3").list_object_versions(Bucket=aws.audit_bucket)["Versions"]
    assert len(versions) == 4
    assert verify_bucket(aws).ok


def test_a_bucket_that_refuses_writes_fails_the_append_with_a_clear_message(aws, aws_emulator):
    from aws_moto import break_audit

    log = open_log(aws)
    append_some(log, 1)
    break_audit(aws_emulator.proxy, aws)
    with pytest.raises(StateUnusable, match=f"cannot write the audit log \\(s3://{aws.audit_bucket}/records/"):
        log.append("step", {})
    assert len(audit_records(aws)) == 1 and read_head(aws.client("dynamodb"), aws.table)[0] == 1


def test_verify_reads_what_it_needs_and_nothing_else(aws, aws_emulator):
    append_some(open_log(aws), 3)
    aws_emulator.proxy.reset()
    assert verify_bucket(aws).ok
    ops = sorted({c.operation for c in aws_emulator.proxy.calls_on(aws.names)})
    assert ops == ["GetItem", "GetObject", "ListObjectVersions"]


def test_audit_verify_on_the_cli_reads_the_bucket(aws, ws):
    from runtime_testkit import run_cli

    append_some(open_log(aws), 4)
    env = {**ws.env, **aws.env}
    ok = run_cli("audit", "verify", "--json", env=env)
    assert ok.rc == 0, ok.stderr
    assert ok.json["ok"] is True and ok.json["records"] == 4

    tamper_audit(aws, 2)
    broken = run_cli("audit", "verify", "--json", env=env)
    assert broken.rc == 1, broken.stderr
    assert broken.json["ok"] is False and broken.json["seq"] == 2
    assert f"s3://{aws.audit_bucket}/records/" in broken.json["message"]
    plain = run_cli("audit", "verify", env=env)
    assert plain.rc == 1 and "content does not match its hash" in plain.stderr

    missing = run_cli("audit", "verify", env={k: v for k, v in env.items() if k != "AIRLOCK_AUDIT_BUCKET"})
    assert missing.rc == 2 and "AIRLOCK_AUDIT_BUCKET: not set" in missing.stderr and "Traceback" not in missing.stderr


def test_audit_verify_on_the_cli_reports_an_unreachable_bucket_without_a_traceback(aws, ws, aws_emulator):
    from runtime_testkit import run_cli

    append_some(open_log(aws), 1)
    aws_emulator.proxy.inject(Fault("s3", "ListObjectVersions", 503, fraction=1.0, resource=aws.audit_bucket))
    res = run_cli("audit", "verify", env={**ws.env, **aws.env})
    assert res.rc == 2 and "cannot read the audit log" in res.stderr and "Traceback" not in res.stderr
