"""`airlock-runtime serve`: the /v1 API, auth, errors, events and metrics, against a real process."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest
from runtime_testkit import AIRLOCK, Call, calls, cli_env, final, tool
from service_kit import make_token, sse_events, start_service, wait_status


@pytest.fixture
def tokens(ws):
    path = ws.root / "tokens"
    return path, {
        "admin": make_token(path, "root", "admin"),
        "submit": make_token(path, "ci-bot", "submit"),
        "approve": make_token(path, "alice", "approve"),
    }


def refund_script():
    return [
        calls(Call("lookup_order", {"order_id": 7})),
        calls(Call("issue_refund", {"order_id": 7, "amount": 20.0}), text="Order 7 arrived damaged; refunding 20 EUR."),
        final("Refund handled."),
    ]


def launch(ws, services, spec, tokens_file, **kwargs):
    env = kwargs.pop("env", ws.env)
    service = start_service(ws.state, spec, tokens_file=tokens_file, env=env, **kwargs)
    services.append(service)
    return service


def test_serve_refuses_to_start_without_tokens_unless_insecure_local_on_loopback(ws, serve):
    spec = ws.spec(serve("openai", [final("hi")]))
    base = [AIRLOCK, "serve", "--state", str(ws.state), "--agent", str(spec), "--port", "0"]
    no_tokens = subprocess.run(base, capture_output=True, text=True, env=cli_env(), timeout=60)
    assert no_tokens.returncode == 2
    assert "--tokens-file: no API tokens file" in no_tokens.stderr and "--insecure-local" in no_tokens.stderr
    wide = subprocess.run(base + ["--insecure-local", "--host", "0.0.0.0"], capture_output=True, text=True, env=cli_env(), timeout=60)
    assert wide.returncode == 2 and "loopback only" in wide.stderr
    bad = subprocess.run(base + ["--insecure-local", "--concurrency", "zero"], capture_output=True, text=True, env=cli_env(), timeout=60)
    assert bad.returncode == 2 and "--concurrency: 'zero'" in bad.stderr
    assert "Traceback" not in no_tokens.stderr + wide.stderr + bad.stderr


def test_a_task_runs_through_the_api_with_events_and_metrics(ws, serve, services, tokens):
    model = serve("openai", refund_script())
    spec = ws.spec(model, tools=[tool("lookup_order"), tool("issue_refund")])
    tokens_file, tok = tokens
    service = launch(ws, services, spec, tokens_file)
    with service.client(tok["submit"]) as client:
        created = client.post("/v1/tasks", json={"task": "Refund order 7", "metadata": {"ticket": "T-1"}})
        assert created.status_code == 201, created.text
        body = created.json()
        # The status as of the answer: an idle worker may have taken the task already.
        assert set(body) == {"task_id", "status", "agent_version"} and body["status"] in {"queued", "running", "succeeded"}
        done = wait_status(client, body["task_id"], {"succeeded", "failed"})
        assert done["status"] == "succeeded" and done["output"] == "Refund handled."
        assert done["usage"]["model_calls"] == 3 and done["metadata"] == {"ticket": "T-1"}
        assert len(ws.effects_done()) == 1

        stream = client.get(f"/v1/tasks/{body['task_id']}/events")
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = sse_events(stream.text)
        kinds = [e["event"] for e in events]
        assert kinds[0] == "queued" and kinds[-1] == "finished" and events[-1]["data"]["status"] == "succeeded"
        assert kinds.count("step") == 3 and kinds.count("model_call") == 3
        assert [e["data"]["tool"] for e in events if e["event"] == "tool_decision"] == ["lookup_order", "issue_refund"]
        assert [e["data"]["outcome"] for e in events if e["event"] == "tool_result"] == ["ok", "ok"]
        # Last-Event-ID resumes after the given event.
        middle = events[len(events) // 2]["id"]
        rest = sse_events(client.get(f"/v1/tasks/{body['task_id']}/events", headers={"Last-Event-ID": str(middle)}).text)
        assert [e["id"] for e in rest] == [e["id"] for e in events if e["id"] > middle]

    metrics = httpx.get(service.url + "/metrics").text  # no token needed
    assert 'airlock_model_calls_total{model="test-model",route="default"} 3.0' in metrics
    assert 'airlock_tool_calls_total{outcome="ok",policy="allow",tool="issue_refund"} 1.0' in metrics
    assert 'airlock_tasks{status="succeeded"} 1.0' in metrics
    assert "airlock_task_cost_usd_count 1.0" in metrics and "airlock_queue_depth 0.0" in metrics
    assert 'airlock_model_tokens_total{route="default",type="input"} 300.0' in metrics
    assert "airlock_step_duration_seconds_count 3.0" in metrics and "airlock_task_approvals_asked_count 1.0" in metrics
    assert "airlock_tool_error_ratio 0.0" in metrics


def test_tokens_and_roles(ws, serve, services, tokens):
    spec = ws.spec(serve("openai", [final("ok")] * 3), tools=[])
    tokens_file, tok = tokens
    service = launch(ws, services, spec, tokens_file)
    anon = service.client()
    assert anon.get("/healthz").status_code == 200 and anon.get("/readyz").status_code == 200
    missing = anon.get("/v1/tasks")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "unauthenticated"
    assert service.client("alk_wrong").get("/v1/tasks").status_code == 401
    approver = service.client(tok["approve"])
    refused = approver.post("/v1/tasks", json={"task": "x"})
    assert refused.status_code == 403 and "'submit'" in refused.json()["error"]["message"]
    assert approver.get("/v1/approvals").status_code == 200
    submitter = service.client(tok["submit"])
    assert submitter.post("/v1/kill").status_code == 403
    assert submitter.get("/v1/approvals").status_code == 403
    admin = service.client(tok["admin"])
    assert admin.post("/v1/kill").json() == {"engaged": True}
    queued = admin.post("/v1/tasks", json={"task": "waits while the switch is engaged"}).json()  # admin may submit
    assert admin.get(f"/v1/tasks/{queued['task_id']}").json()["status"] == "queued"
    cancelled = admin.post(f"/v1/tasks/{queued['task_id']}/cancel").json()
    assert cancelled["status"] == "killed"
    assert admin.delete("/v1/kill").json() == {"engaged": False}
    assert admin.get("/openapi.json").json()["paths"]["/v1/tasks"]["post"]
    audit = [json.loads(line) for line in (ws.state / "audit" / "audit.jsonl").read_text().splitlines()]
    assert [r["data"]["by"] for r in audit if r["kind"].startswith("kill_switch")] == ["root", "root"]


def test_bad_requests_get_one_json_error_and_change_nothing(ws, serve, services, tokens):
    spec = ws.spec(serve("openai", [final("ok")]), tools=[])
    tokens_file, tok = tokens
    service = launch(ws, services, spec, tokens_file, env={**ws.env, "AIRLOCK_MAX_TASK_CHARS": "100"})
    client = service.client(tok["submit"])

    def error(response, status):
        assert response.status_code == status, response.text
        assert set(response.json()) == {"error"} and "Traceback" not in response.text
        return response.json()["error"]

    assert error(client.post("/v1/tasks", content=b"{not json", headers={"content-type": "application/json"}), 400)["code"] == "malformed_json"
    unknown = error(client.post("/v1/tasks", json={"task": "x", "priority": 1}), 422)
    assert unknown["field"] == "priority" and unknown["code"] == "unknown_field"
    wrong = error(client.post("/v1/tasks", json={"task": 42}), 422)
    assert wrong["field"] == "task"
    assert error(client.post("/v1/tasks", json={"metadata": {}}), 422)["field"] == "task"
    big = error(client.post("/v1/tasks", json={"task": "x" * 101}), 413)
    assert big["field"] == "task" and "at most 100" in big["message"]
    assert error(client.get("/v1/tasks/tsk_nope"), 404)["field"] == "task_id"
    assert error(client.post("/v1/tasks/tsk_nope/cancel"), 404)["code"] == "not_found"
    assert error(client.get("/v1/tasks", params={"cursor": "garbage!"}), 422)["field"] == "cursor"
    assert error(client.get("/v1/tasks", params={"status": "done"}), 422)["field"] == "status"
    assert error(service.client(tok["approve"]).post("/v1/approvals/apr_nope", json={"decision": "approve"}), 404)["field"] == "approval_id"
    assert error(service.client(tok["approve"]).post("/v1/approvals/apr_nope", json={"decision": "maybe"}), 422)["field"] == "decision"
    assert client.get("/v1/tasks").json() == {"tasks": [], "next_cursor": None}  # nothing half-written


def test_idempotency_key_and_paging(ws, serve, services, tokens):
    spec = ws.spec(serve("openai", [final("ok")]), tools=[])
    tokens_file, tok = tokens
    service = launch(ws, services, spec, tokens_file)
    admin = service.client(tok["admin"])
    admin.post("/v1/kill")  # keep them queued: this test is about the API, not the workers
    first = admin.post("/v1/tasks", json={"task": "a"}, headers={"Idempotency-Key": "k1"})
    again = admin.post("/v1/tasks", json={"task": "a"}, headers={"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201 and first.json()["task_id"] == again.json()["task_id"]
    clash = admin.post("/v1/tasks", json={"task": "b"}, headers={"Idempotency-Key": "k1"})
    assert clash.status_code == 409 and clash.json()["error"]["field"] == "Idempotency-Key"
    ids = [first.json()["task_id"]] + [admin.post("/v1/tasks", json={"task": f"t{i}"}).json()["task_id"] for i in range(4)]
    seen, cursor = [], None
    while True:
        page = admin.get("/v1/tasks", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [t["task_id"] for t in page["tasks"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))  # newest first, each exactly once
    assert [t["task_id"] for t in admin.get("/v1/tasks", params={"status": "queued"}).json()["tasks"]] == list(reversed(ids))


def test_approval_through_the_api_resumes_the_task(ws, serve, services, tokens):
    model = serve("openai", refund_script())
    spec = ws.spec(model, tools=[tool("lookup_order"), tool("issue_refund", policy="ask")])
    tokens_file, tok = tokens
    service = launch(ws, services, spec, tokens_file)
    submitter, approver = service.client(tok["submit"]), service.client(tok["approve"])
    task_id = submitter.post("/v1/tasks", json={"task": "Refund order 7"}).json()["task_id"]
    waiting = wait_status(submitter, task_id, {"waiting_approval", "failed"})
    assert waiting["status"] == "waiting_approval" and ws.effects_done() == []
    (pending,) = approver.get("/v1/approvals").json()["approvals"]
    assert pending["tool"] == "issue_refund" and pending["arguments"] == {"order_id": 7, "amount": 20.0}
    assert pending["reason"] == "Order 7 arrived damaged; refunding 20 EUR." and pending["status"] == "pending"
    decided = approver.post(f"/v1/approvals/{pending['approval_id']}", json={"decision": "approve", "reason": "ok"})
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    assert approver.post(f"/v1/approvals/{pending['approval_id']}", json={"decision": "deny"}).status_code == 409
    done = wait_status(submitter, task_id, {"succeeded", "failed"})
    assert done["status"] == "succeeded" and len(ws.effects_done()) == 1
    audit = [json.loads(line) for line in (ws.state / "audit" / "audit.jsonl").read_text().splitlines()]
    decided_rec = next(r for r in audit if r["kind"] == "approval_decided")
    assert decided_rec["data"]["decided_by"] == "alice"
    kinds = [e["event"] for e in sse_events(submitter.get(f"/v1/tasks/{task_id}/events").text)]
    assert kinds.index("approval_requested") < kinds.index("approval_decided") < kinds.index("finished")
