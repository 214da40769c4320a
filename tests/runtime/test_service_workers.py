"""`serve` workers: drain on SIGTERM, tool timeouts that stall nothing, leases."""

from __future__ import annotations

import re
import signal
import threading

import httpx
import pytest
from runtime_testkit import Call, calls, final, tool
from service_kit import make_token, start_service, wait_for, wait_status

from runtime import contract


def refund_script():
    return [
        calls(Call("lookup_order", {"order_id": 7})),
        calls(Call("issue_refund", {"order_id": 7, "amount": 20.0})),
        final("Refund handled."),
    ]


def test_sigterm_drains_at_a_step_boundary_and_another_process_finishes_the_task(ws, serve, services):
    release = threading.Event()
    model = serve("openai", refund_script())
    model.on_request = lambda n, body: release.wait(60) if n == 2 else None  # hold the second model call
    spec = ws.spec(model, tools=[tool("lookup_order"), tool("issue_refund")])
    tokens_file = ws.root / "tokens"
    token = make_token(tokens_file, "ops", "submit")
    first = start_service(ws.state, spec, tokens_file=tokens_file, env=ws.env, log_name="first.log")
    services.append(first)
    client = first.client(token)
    task_id = client.post("/v1/tasks", json={"task": "Refund order 7"}).json()["task_id"]
    wait_for(lambda: model.count == 2, first.proc, first.log_path, "the second model call")
    first.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: "draining" in first.log(), first.proc, first.log_path, "the drain to start")
    release.set()  # the step in flight completes and is checkpointed; then the runner yields
    assert first.proc.wait(timeout=contract.DRAIN_GRACE_SECONDS) == 0, first.log()
    assert "drained" in first.log()

    second = start_service(ws.state, spec, tokens_file=tokens_file, env=ws.env, log_name="second.log")
    services.append(second)
    with second.client(token) as client:
        assert client.get(f"/v1/tasks/{task_id}").json()["status"] in ("queued", "running", "succeeded")
        done = wait_status(client, task_id, {"succeeded", "failed"})
    assert done["status"] == "succeeded"
    # The drained step's model answer was kept: three model calls in all, the refund once.
    assert model.count == 3 and len(ws.effects_done()) == 1
    assert second.stop() == 0


def test_a_hung_tool_times_out_without_stalling_leases_or_other_tasks(ws, serve, services):
    model = serve(
        "openai",
        [
            lambda body: calls(Call("nap", {"seconds": 120})) if "hang" in body["messages"][-1]["content"] else final("quick one done"),
            final("carried on after the timeout"),
        ],
    )
    spec = ws.spec(model, tools=[tool("nap", timeoutSeconds=10)])
    tokens_file = ws.root / "tokens"
    token = make_token(tokens_file, "ops", "submit")
    # Leases of 0.6 s: a heartbeat stalled by the hung tool would lose the lease within the tool's 10 s.
    service = start_service(
        ws.state, spec, tokens_file=tokens_file, env={**ws.env, "AIRLOCK_LEASE_SECONDS": "0.6"}, concurrency=2
    )
    services.append(service)
    client = service.client(token)
    hung = client.post("/v1/tasks", json={"task": "hang please"}).json()["task_id"]
    wait_for(lambda: model.count >= 1, service.proc, service.log_path, "the hanging call")
    quick = client.post("/v1/tasks", json={"task": "quick"}).json()["task_id"]
    quick_done = wait_status(client, quick, {"succeeded", "failed"})
    assert quick_done["status"] == "succeeded"
    assert client.get(f"/v1/tasks/{hung}").json()["status"] == "running"  # finished while the tool hung
    done = wait_status(client, hung, {"succeeded", "failed"})
    assert done["status"] == "succeeded" and done["output"] == "carried on after the timeout"
    seen = next(b for b in model.requests if len(b["messages"]) > 2)
    result = [m for m in seen["messages"] if m["role"] == "tool"][0]["content"]
    assert result.startswith("error:") and "timeoutSeconds=10" in result
    metrics = httpx.get(service.url + "/metrics").text
    assert re.search(r"^airlock_lease_expiries_total 0\.0$", metrics, re.M)
    assert 'airlock_tool_calls_total{outcome="error",policy="allow",tool="nap"} 1.0' in metrics


def test_cancel_stops_a_running_task_at_its_next_step_boundary(ws, serve, services):
    release = threading.Event()
    model = serve("openai", refund_script())
    model.on_request = lambda n, body: release.wait(60) if n == 1 else None
    spec = ws.spec(model, tools=[tool("lookup_order"), tool("issue_refund")])
    tokens_file = ws.root / "tokens"
    token = make_token(tokens_file, "ops", "submit")
    service = start_service(ws.state, spec, tokens_file=tokens_file, env=ws.env)
    services.append(service)
    client = service.client(token)
    task_id = client.post("/v1/tasks", json={"task": "Refund order 7"}).json()["task_id"]
    wait_for(lambda: model.count == 1, service.proc, service.log_path, "the first model call")
    assert client.post(f"/v1/tasks/{task_id}/cancel").json()["status"] == "running"  # stops at the boundary
    release.set()
    done = wait_status(client, task_id, {"killed", "succeeded", "failed"})
    assert done["status"] == "killed" and model.count == 1  # the tool call after the boundary never ran


def test_a_queued_task_killed_from_the_cli_is_never_run(ws, serve, services):
    from runtime_testkit import run_cli

    model = serve("openai", [final("ran")])
    spec = ws.spec(model, tools=[])
    tokens_file = ws.root / "tokens"
    token = make_token(tokens_file, "ops", "admin")
    service = start_service(ws.state, spec, tokens_file=tokens_file, env=ws.env)
    services.append(service)
    client = service.client(token)
    client.post("/v1/kill")
    first = client.post("/v1/tasks", json={"task": "first"}).json()["task_id"]
    killed = run_cli("kill", first, "--state", str(ws.state))
    assert killed.rc == 0, killed.stderr
    client.delete("/v1/kill")
    second = client.post("/v1/tasks", json={"task": "second"}).json()["task_id"]
    assert wait_status(client, second, {"succeeded", "failed"})["status"] == "succeeded"
    assert client.get(f"/v1/tasks/{first}").json()["status"] == "killed"
    assert [m["content"] for b in model.requests for m in b["messages"] if m["role"] == "user"] == ["second"]
    assert "airlock_queue_depth 0.0" in httpx.get(service.url + "/metrics").text
