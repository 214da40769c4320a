"""What only the AWS store has: its environment, the dead-letter queue, the payload bucket,
and AWS answering with throttling and 5xx (botocore retries them; the run stays correct).

The store runs against moto's server through the fault proxy (aws_moto.py); the behaviour
suite (test_store_behaviour.py) and the takeover test (test_service_takeover.py) run on it too.
"""

from __future__ import annotations

import json
import time

import pytest
from aws_moto import Fault
from runtime_testkit import Call, calls, final, run_cli, tool
from store_backends import aws_partition, aws_task_rows  # (also quiets moto's request log)

from runtime.store_api import Submission, open_store


@pytest.fixture
def aws_env(aws, monkeypatch):  # type: ignore[no-untyped-def]
    """The store opened in this process reads the same env the CLI gets."""
    for name, value in aws.env.items():
        monkeypatch.setenv(name, value)
    return aws.env


def cli(ws, aws, *args: str, extra: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return run_cli(*args, env={**ws.env, **aws.env, **(extra or {})})


def submission(task_id: str, version: str = "v1") -> Submission:
    return Submission(task_id=task_id, agent_name="refunds", agent_version=version, spec_text="{}", spec_path=None,
                      spec_dir="/", task_text="Refund order 7", request_sha256="0" * 64, submitted_by="test")


@pytest.mark.parametrize(
    ("drop", "bad", "named"),
    [
        ("AIRLOCK_QUEUE_URL", None, "AIRLOCK_QUEUE_URL: not set"),
        (None, ("AIRLOCK_CHECKPOINT_TABLE", "no spaces allowed"), "AIRLOCK_CHECKPOINT_TABLE: 'no spaces allowed' is not valid"),
        (None, ("AIRLOCK_DEAD_LETTER_QUEUE_URL", "sqs-dlq"), "AIRLOCK_DEAD_LETTER_QUEUE_URL: 'sqs-dlq' is not valid"),
    ],
)
def test_a_missing_or_bad_variable_is_named_before_anything_starts(ws, aws, drop, bad, named):
    env = {**ws.env, **aws.env}
    if drop:
        env.pop(drop)
    if bad:
        env[bad[0]] = bad[1]
    res = run_cli("status", "tsk_x", "--json", env=env)
    assert res.rc == 2 and named in res.stderr and "Traceback" not in res.stderr


def test_a_message_received_too_often_ends_its_task_failed_with_the_reason(ws, aws_emulator, aws_env, monkeypatch):
    """Workers that take the lease and die (never renewing, never finishing) each count one
    receive; past the queue's maxReceiveCount SQS moves the message to the DLQ, and the next
    worker's DLQ poll records the task as failed, saying why."""
    resources = aws_emulator.new_resources(max_receives=2)
    for name, value in resources.env.items():
        monkeypatch.setenv(name, value)
    store = open_store("aws:")
    store.dead_letter_poll_seconds = 0.0  # type: ignore[attr-defined]
    store.receive_wait_seconds = 0  # type: ignore[attr-defined]
    try:
        store.submit_task(submission("tsk_poison"))
        holders = []
        deadline = time.monotonic() + 60
        while store.get_task("tsk_poison").status != "failed":  # type: ignore[union-attr]
            assert time.monotonic() < deadline, f"never dead-lettered; holders: {holders}"
            claim = store.claim_next(f"worker-{len(holders)}", "v1", 1)
            if claim is not None:
                holders.append(claim.task_id)  # ... and this worker "dies": no renewal, no release
            time.sleep(0.3)
        assert len(holders) == 2  # exactly maxReceiveCount workers got it
        dlq = resources.client("sqs").get_queue_attributes(
            QueueUrl=resources.dead_letter_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        assert dlq["Attributes"]["ApproximateNumberOfMessages"] == "0"  # deleted once recorded
    finally:
        store.close()
    status = cli(ws, resources, "status", "tsk_poison", "--json")
    assert status.rc == 0 and status.json["status"] == "failed"
    assert "dead-letter queue" in status.json["error"] and "maxReceiveCount is 2" in status.json["error"]


def test_a_message_over_350_kb_round_trips_through_the_payload_bucket(ws, aws, serve):
    """The model's 400 KB answer is a message and the task's output: both too big for a
    DynamoDB item. They are stored in the payload bucket, and a changed object is refused."""
    answer = "".join(f"line {i:06d} of a very long report\n" for i in range(12_000))
    assert len(answer.encode()) > 400_000
    model = serve("openai", [calls(Call("lookup_order", {"order_id": 7})), final(answer)])
    spec = ws.spec(model, tools=[tool("lookup_order")])
    out = cli(ws, aws, "run", "--agent", str(spec), "--task", "Write the report", "--json")
    assert out.rc == 0, out.stderr
    task_id = out.json["task_id"]
    status = cli(ws, aws, "status", task_id, "--json")
    assert status.json["status"] == "succeeded" and status.json["output"] == answer
    s3 = aws.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=aws.payload_bucket).get("Contents", [])]
    assert any(f"tasks/{task_id}/messages/" in k for k in keys) and any(f"tasks/{task_id}/output/" in k for k in keys)
    # The items only reference the objects; nothing in the table comes near the item limit.
    items = aws_partition(aws, f"task#{task_id}") + aws_task_rows(aws)
    assert max(len(json.dumps(i, default=str)) for i in items) < 50_000
    # Resuming reads the conversation back from the bucket (the model saw the whole answer).
    [message_key] = [k for k in keys if "/messages/" in k]
    s3.put_object(Bucket=aws.payload_bucket, Key=message_key, Body=b'{"role": "assistant", "content": "changed"}')
    damaged = cli(ws, aws, "status", task_id, "--json")
    assert damaged.rc != 0 and "does not match the digest" in damaged.stderr and "Traceback" not in damaged.stderr


def throttling_and_5xx(proxy):  # type: ignore[no-untyped-def]
    return [
        proxy.inject(Fault("dynamodb", "TransactWriteItems", "throttle", fraction=0.4, seed=1)),
        proxy.inject(Fault("dynamodb", "GetItem", 500, fraction=0.2, seed=2)),
        proxy.inject(Fault("dynamodb", "Query", 503, times=2)),
        proxy.inject(Fault("s3", "PutObject", "throttle", fraction=0.3, seed=4)),
    ]


def lost_answers(proxy):  # type: ignore[no-untyped-def]
    """DynamoDB did the write but its answer never arrived (a timeout, a 5xx from a load
    balancer): botocore sends it again and the retry meets its own first attempt, a condition
    that now fails. The store must tell that from a real conflict."""
    return [proxy.inject(Fault("dynamodb", op, 500, fraction=0.5, seed=10 + i, after_forward=True))
            for i, op in enumerate(("TransactWriteItems", "UpdateItem"))]


@pytest.mark.parametrize("faults_of", [throttling_and_5xx, lost_answers], ids=["throttling-5xx", "lost-answers"])
def test_a_run_under_faults_is_retried_and_stays_correct(ws, aws, aws_emulator, serve, faults_of):
    faults = faults_of(aws_emulator.proxy)
    model = serve("openai", [
        calls(Call("lookup_order", {"order_id": 7})),
        calls(Call("issue_refund", {"order_id": 7, "amount": 20.0})),
        final("Refund handled."),
    ])
    spec = ws.spec(model, tools=[tool("lookup_order"), tool("issue_refund")])
    out = cli(ws, aws, "run", "--agent", str(spec), "--task", "Refund order 7", "--json")
    assert out.rc == 0, out.stderr
    assert out.json["status"] == "succeeded" and out.json["output"] == "Refund handled."
    assert len(ws.effects_done()) == 1 and len(ws.attempts()) == 1 and model.count == 3
    assert all(f.injected > 0 for f in faults), [(f.operation, f.injected) for f in faults]
    verified = cli(ws, aws, "audit", "verify", "--json")
    assert verified.rc == 0 and verified.json["ok"] is True


def test_the_queue_survives_throttled_sqs(ws, aws, aws_emulator, aws_env):
    """Claim, heartbeat and release under SQS throttling and 5xx: retried, the lease semantics hold."""
    proxy = aws_emulator.proxy
    for operation, error in (("SendMessage", "throttle"), ("ReceiveMessage", 500),
                             ("ChangeMessageVisibility", "throttle"), ("DeleteMessage", 503)):
        proxy.inject(Fault("sqs", operation, error, times=2))
    store = open_store("aws:")
    store.receive_wait_seconds = 0  # type: ignore[attr-defined]
    try:
        store.submit_task(submission("tsk_q"))
        claim = None
        for _ in range(10):
            claim = claim or store.claim_next("w1", "v1", 30)
        assert claim is not None and claim.task_id == "tsk_q" and claim.expired_owner is None
        assert store.claim_next("w2", "v1", 30) is None  # leased: nobody else gets it
        assert store.renew_leases("w1", ["tsk_q"], 30) == {"tsk_q"}
        assert store.renew_leases("w2", ["tsk_q"], 30) == set()
        assert store.release_lease("tsk_q", "w1", done=True) and store.lease_of("tsk_q") is None
    finally:
        store.close()
    assert [c for c in proxy.calls if c.injected and c.service == "sqs"]


def test_the_queue_keeps_its_leases_when_write_answers_are_lost(ws, aws, aws_emulator, aws_env):
    """Every write's answer lost once: the claim is still this worker's, the renewal and the
    release still report success, events keep their order, and a real conflict is still refused."""
    proxy = aws_emulator.proxy
    store = open_store("aws:")
    store.receive_wait_seconds = 0  # type: ignore[attr-defined]
    try:
        store.submit_task(submission("tsk_lost"))
        faults = [proxy.inject(Fault("dynamodb", op, 500, times=1, after_forward=True)) for op in ("UpdateItem", "PutItem")]
        claim = None
        for _ in range(10):
            claim = claim or store.claim_next("w1", "v1", 30)
        assert claim is not None and claim.task_id == "tsk_lost"
        assert store.lease_of("tsk_lost")[0] == "w1"  # type: ignore[index]
        for n in range(2):
            store.append_event("tsk_lost", "step", {"n": n})
        events = store.events_after("tsk_lost", 0)
        assert [e.data for e in events] == [{"n": 0}, {"n": 1}]
        assert [f.injected for f in faults] == [1, 1]
        proxy.inject(Fault("dynamodb", "UpdateItem", 500, times=2, after_forward=True))
        assert store.renew_leases("w1", ["tsk_lost"], 30) == {"tsk_lost"}
        assert store.renew_leases("w2", ["tsk_lost"], 30) == set()  # not w2's: still refused
        assert store.release_lease("tsk_lost", "w1", done=True) and store.lease_of("tsk_lost") is None
        assert store.release_lease("tsk_lost", "w1", done=True) is False  # already released: a real refusal
    finally:
        store.close()


# ----------------------------------------------------------------------------- what the operator must fix
# A resource that is not there, a call the role does not allow, credentials that are missing:
# retrying cannot help, so the answer is one message naming the variable, the resource and
# the fix (runtime/store_aws/explain.py): exit 2 on the CLI, the reason on /readyz.


@pytest.mark.parametrize(
    ("command", "variable", "named"),
    [
        (("status", "tsk_x"), "AIRLOCK_CHECKPOINT_TABLE", "DynamoDB table 'airlock-missing'"),
        (("audit", "verify"), "AIRLOCK_AUDIT_BUCKET", "S3 bucket 'airlock-missing'"),
    ],
)
def test_a_resource_that_does_not_exist_is_named_with_its_variable(ws, aws, command, variable, named):
    res = cli(ws, aws, *command, "--json", extra={variable: "airlock-missing"})
    assert res.rc == 2, res.stderr
    assert f"{variable}: {named} does not exist in us-east-1" in res.stderr
    assert "internal error" not in res.stderr and "Traceback" not in res.stderr


def test_a_call_the_role_does_not_allow_names_the_action_and_the_table(ws, aws, aws_emulator, serve):
    aws_emulator.proxy.inject(Fault("dynamodb", "TransactWriteItems", "denied", times=1))
    spec = ws.spec(serve("openai", [final("Done.")]), tools=[tool("lookup_order")])
    res = cli(ws, aws, "run", "--agent", str(spec), "--task", "Refund order 7", "--json")
    assert res.rc == 2, res.stderr
    assert (f"AIRLOCK_CHECKPOINT_TABLE: DynamoDB table '{aws.table}': dynamodb:TransactWriteItems was denied "
            "(User: arn:aws:sts::123456789012:assumed-role/airlock-orchestrator/") in res.stderr
    assert "IAM role must allow it" in res.stderr and "internal error" not in res.stderr


def test_a_missing_queue_or_missing_credentials_are_named(ws, aws, aws_env, monkeypatch):
    from runtime.errors import StateUnusable

    missing_queue = aws.queue_url.rsplit("/", 1)[0] + "/airlock-missing"
    monkeypatch.setenv("AIRLOCK_QUEUE_URL", missing_queue)
    store = open_store("aws:")
    try:
        with pytest.raises(StateUnusable, match=f"AIRLOCK_QUEUE_URL: SQS queue '{missing_queue}' does not exist"):
            store.queue_depth()
    finally:
        store.close()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(ws.root / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(ws.root / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    store = open_store("aws:")
    try:
        with pytest.raises(StateUnusable, match="AWS credentials: none found for dynamodb; on EKS the orchestrator's service account"):
            store.get_task("tsk_x")
    finally:
        store.close()


def test_serve_reports_a_missing_table_as_its_reason_not_ready(ws, aws, serve, services):
    from service_kit import start_service, wait_for

    import httpx

    spec = ws.spec(serve("openai", [final("Done.")]), tools=[tool("lookup_order")])
    service = start_service(ws.state, spec, tokens_file=None, extra=("--insecure-local",), wait_ready=False,
                            env={**aws.env, "AIRLOCK_STORE": "aws:", "AIRLOCK_QUEUE_URL": aws.queue_url.rsplit("/", 1)[0] + "/gone"})
    services.append(service)
    wait_for(lambda: "gone" in httpx.get(service.url + "/readyz").text, service.proc, service.log_path, "the reason")
    ready = httpx.get(service.url + "/readyz")
    assert ready.status_code == 503
    assert ready.json()["reason"].startswith("store unusable: AIRLOCK_QUEUE_URL: SQS queue '")
