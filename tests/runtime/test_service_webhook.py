"""The approval webhook from `serve`: signed with HMAC-SHA256 over timestamp and body, retried, failures visible."""

from __future__ import annotations

import json

import httpx
import pytest
from runtime_testkit import Call, WebhookServer, calls, final, tool
from service_kit import events_until, make_token, start_service, wait_for, wait_status

from runtime.service.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

KEY = "whsec-test-key-0123456789"


@pytest.fixture
def hook():
    server = WebhookServer()
    yield server
    server.close()


def ask_script():
    return [calls(Call("issue_refund", {"order_id": 7, "amount": 20.0}), text="Damaged."), final("done")]


def secrets_env(ws, with_key: bool = True):
    directory = ws.root / "platform-secrets"
    directory.mkdir(exist_ok=True)
    if with_key:
        (directory / "approval-webhook-key").write_text(KEY + "\n")
    return {**ws.env, "AIRLOCK_SECRETS_DIR": str(directory)}


def test_webhook_is_signed_over_timestamp_and_body(ws, serve, services, hook):
    spec = ws.spec(serve("openai", ask_script()), tools=[tool("issue_refund", policy="ask")], approvals={"webhookUrl": hook.url})
    tokens_file = ws.root / "tokens"
    token = make_token(tokens_file, "bot", "submit")
    service = start_service(ws.state, spec, tokens_file=tokens_file, env=secrets_env(ws))
    services.append(service)
    client = service.client(token)
    task_id = client.post("/v1/tasks", json={"task": "refund 7"}).json()["task_id"]
    wait_status(client, task_id, {"waiting_approval"})
    wait_for(lambda: len(hook.received) == 1, service.proc, service.log_path, "the webhook")
    (received,) = hook.received
    headers = {k.lower(): v for k, v in received["headers"].items()}
    timestamp, signature = headers[TIMESTAMP_HEADER.lower()], headers[SIGNATURE_HEADER.lower()]
    assert verify(KEY.encode(), timestamp, received["body"], signature)
    assert not verify(b"another key", timestamp, received["body"], signature)
    assert not verify(KEY.encode(), timestamp, received["body"] + b" ", signature)  # a changed body fails
    body = json.loads(received["body"])
    assert body["type"] == "approval.requested" and body["approval"]["task_id"] == task_id
    assert KEY not in service.log() and KEY not in (ws.state / "audit" / "audit.jsonl").read_text()


def test_failed_deliveries_are_retried_and_visible(ws, serve, services):
    failing = WebhookServer(status=503)
    try:
        spec = ws.spec(serve("openai", ask_script()), tools=[tool("issue_refund", policy="ask")], approvals={"webhookUrl": failing.url})
        tokens_file = ws.root / "tokens"
        token = make_token(tokens_file, "bot", "submit")
        service = start_service(ws.state, spec, tokens_file=tokens_file, env=secrets_env(ws))
        services.append(service)
        client = service.client(token)
        task_id = client.post("/v1/tasks", json={"task": "refund 7"}).json()["task_id"]
        wait_status(client, task_id, {"waiting_approval"})
        audit = ws.state / "audit" / "audit.jsonl"
        wait_for(lambda: "approval_notify_failed" in audit.read_text(), service.proc, service.log_path, "the failed delivery")
        kinds = [e["event"] for e in events_until(client, task_id, "webhook_failed")]
        assert kinds.index("approval_requested") < kinds.index("webhook_failed")
        assert len(failing.received) == 3  # three attempts with backoff
        metrics = httpx.get(service.url + "/metrics").text
        assert 'airlock_approval_webhooks_total{outcome="failed"} 1.0' in metrics
        (approval,) = service.client(make_token(tokens_file, "alice", "approve")).get("/v1/approvals").json()["approvals"]
        assert approval["notify_status"].startswith("failed after 3 attempt(s): HTTP 503")
    finally:
        failing.close()


def test_a_webhook_without_its_signing_key_keeps_the_service_unready(ws, serve, services, hook):
    spec = ws.spec(serve("openai", ask_script()), tools=[tool("issue_refund", policy="ask")], approvals={"webhookUrl": hook.url})
    tokens_file = ws.root / "tokens"
    make_token(tokens_file, "bot", "submit")
    service = start_service(ws.state, spec, tokens_file=tokens_file, env=secrets_env(ws, with_key=False), wait_ready=False)
    services.append(service)
    wait_for(lambda: "approval-webhook-key" in httpx.get(service.url + "/readyz").text, service.proc, service.log_path, "the reason")
    ready = httpx.get(service.url + "/readyz")
    assert ready.status_code == 503 and "signing key" in ready.json()["reason"]
