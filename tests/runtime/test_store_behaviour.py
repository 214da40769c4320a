"""One behaviour suite, run on every store backend: the same commands, the same results.

SQLite (``--state DIR``), PostgreSQL (``AIRLOCK_STORE=postgresql://...`` on the real
session server, a fresh database per test) and AWS (``AIRLOCK_STORE=aws:`` on moto's
server through the fault proxy, fresh stack-shaped resources per test): run, ask and approve, deny, budget stop, kill,
resume after SIGKILL, `serve`, and audit tampering detected.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from runtime_testkit import Call, calls, final, run_cli, tool
from service_kit import make_token, start_service, wait_status
from store_backends import Backend

# `backend` (conftest.py): parametrized over sqlite, postgresql and aws (moto's server).
HERE = Path(__file__).parent


def refund_script():
    return [
        calls(Call("lookup_order", {"order_id": 7})),
        calls(Call("issue_refund", {"order_id": 7, "amount": 20.0}), text="Order 7 arrived damaged; refunding 20 EUR."),
        final("Refund handled."),
    ]


def cli(backend: Backend, *args: str, env: dict[str, str] | None = None):
    return run_cli(*args, *backend.args(), env=backend.run_env(env))


def run_task(backend: Backend, spec, task: str = "Refund order 7"):
    res = cli(backend, "run", "--agent", str(spec), "--task", task, "--json")
    assert res.rc == 0, res.stderr
    return res.json


def assert_audit_intact(backend: Backend) -> int:
    verified = cli(backend, "audit", "verify", "--json")
    assert verified.rc == 0, verified.stdout + verified.stderr
    assert verified.json["ok"] is True
    return int(verified.json["records"])


def test_run_succeeds_with_its_side_effect_once(backend, serve):
    model = serve("openai", refund_script())
    out = run_task(backend, backend.ws.spec(model, tools=[tool("lookup_order"), tool("issue_refund")]))
    assert out["status"] == "succeeded" and out["output"] == "Refund handled."
    assert out["usage"]["model_calls"] == 3 and len(backend.ws.effects_done()) == 1
    status = cli(backend, "status", out["task_id"], "--json")
    assert status.rc == 0 and status.json["status"] == "succeeded"
    kinds = [r["kind"] for r in backend.audit_records()]
    assert kinds[0] == "task_started" and kinds.count("tool_call") == 2 and kinds[-1] == "task_succeeded"
    assert assert_audit_intact(backend) == len(kinds)
    if backend.name != "sqlite":  # nothing of the task was written to the local state directory
        assert not backend.ws.state.exists()


def test_ask_then_approve_runs_the_call_exactly_once(backend, serve):
    model = serve("openai", refund_script())
    spec = backend.ws.spec(model, tools=[tool("lookup_order"), tool("issue_refund", "ask")])
    parked = run_task(backend, spec)
    assert parked["status"] == "waiting_approval" and backend.ws.attempts() == []
    pending = parked["pending_approval"]
    listed = cli(backend, "approvals", "list", "--json").json["approvals"]
    assert [a["id"] for a in listed] == [pending["id"]] and listed[0]["tool"] == "issue_refund"
    decided = cli(backend, "approvals", "decide", pending["id"], "approve", "--reason", "damaged",
                  env={"AIRLOCK_APPROVER": "alice"})
    assert decided.rc == 0, decided.stderr
    again = cli(backend, "approvals", "decide", pending["id"], "deny")
    assert again.rc == 2 and "decisions are final" in again.stderr
    done = cli(backend, "resume", parked["task_id"], "--json")
    assert done.rc == 0, done.stderr
    assert done.json["status"] == "succeeded" and done.json["output"] == "Refund handled."
    assert len(backend.ws.attempts()) == 1 and len(backend.ws.effects_done()) == 1 and model.count == 3
    decided_records = [r for r in backend.audit_records() if r["kind"] == "approval_decided"]
    assert decided_records[0]["data"]["decided_by"] == "alice"
    assert_audit_intact(backend)


def test_deny_tells_the_model_and_nothing_runs(backend, serve):
    model = serve("openai", refund_script())
    spec = backend.ws.spec(model, tools=[tool("lookup_order"), tool("issue_refund", "ask")])
    parked = run_task(backend, spec)
    res = cli(backend, "approvals", "decide", parked["pending_approval"]["id"], "deny", "--reason", "over the limit")
    assert res.rc == 0, res.stderr
    done = cli(backend, "resume", parked["task_id"], "--json")
    assert done.json["status"] == "succeeded" and backend.ws.attempts() == []
    last = model.tool_results(-1)[-1]
    assert last["is_error"] is True and "denied the call to 'issue_refund': over the limit" in last["content"]
    assert_audit_intact(backend)


def test_budget_stops_the_task_before_the_next_model_call(backend, serve):
    model = serve("openai", [calls(Call("lookup_order", {"order_id": i})) for i in range(10)])
    out = run_task(backend, backend.ws.spec(model, tools=[tool("lookup_order")], budgets={"maxSteps": 3}))
    assert out["status"] == "budget_exceeded" and model.count == 3
    # A stopped task stays stopped: resume reports it without calling the model.
    again = cli(backend, "resume", out["task_id"], "--json")
    assert again.json["status"] == "budget_exceeded" and model.count == 3
    assert_audit_intact(backend)


def test_kill_stops_a_parked_task_and_the_switch_blocks_new_steps(backend, serve):
    model = serve("openai", refund_script())
    spec = backend.ws.spec(model, tools=[tool("lookup_order"), tool("issue_refund", "ask")])
    parked = run_task(backend, spec)
    killed = cli(backend, "kill", parked["task_id"], "--json")
    assert killed.rc == 0 and killed.json["result"] == "killed"
    status = cli(backend, "status", parked["task_id"], "--json").json
    # The way back names this store: its directory, or the AIRLOCK_STORE URL (no /tmp placeholder).
    hint = f"--state {backend.ws.state}" if backend.name == "sqlite" else f"with AIRLOCK_STORE={backend.url}"
    assert status["status"] == "killed" and hint in status["error"]
    engaged = cli(backend, "kill", "--json")
    assert engaged.rc == 0 and engaged.json["kill_switch"] == "engaged"
    blocked = run_task(backend, backend.ws.spec(serve("openai", [final("never")]), tools=[tool("lookup_order")]))
    assert blocked["status"] == "killed" and hint in blocked["error"] and "kill switch for all tasks" in blocked["error"]
    assert cli(backend, "kill", "--clear", "--json").json["kill_switch"] == "cleared"
    kinds = [r["kind"] for r in backend.audit_records()]
    assert "task_killed" in kinds and "kill_switch_engaged" in kinds and "kill_switch_cleared" in kinds
    assert_audit_intact(backend)


def test_resume_after_sigkill_inside_a_tool_keeps_the_side_effect_once(backend, serve):
    model = serve("openai", [
        calls(Call("lookup_order", {"order_id": 7})),
        calls(Call("issue_refund", {"order_id": 7, "amount": 20.0})),
        final("Refunded."),
    ])
    spec = backend.ws.spec(model, tools=[tool("lookup_order"), tool("issue_refund")])
    backend.ws.arm("crash_after_effect")  # the tool does its effect, then the process is SIGKILLed
    crashed = cli(backend, "run", "--agent", str(spec), "--task", "t", "--json")
    assert crashed.rc == -9
    [task_id] = backend.task_ids()
    assert cli(backend, "status", task_id, "--json").json["status"] == "running"
    out = cli(backend, "resume", task_id, "--json")
    assert out.rc == 0, out.stderr
    assert out.json["status"] == "succeeded" and out.json["output"] == "Refunded."
    attempts = backend.ws.attempts()
    assert len(attempts) == 2 and attempts[0] == attempts[1]  # retried with the same idempotency key
    assert backend.ws.effects_done() == attempts[:1]  # and the effect happened once
    assert_audit_intact(backend)


def test_audit_tampering_is_detected(backend, serve):
    model = serve("openai", refund_script())
    run_task(backend, backend.ws.spec(model, tools=[tool("lookup_order"), tool("issue_refund")]))
    records = assert_audit_intact(backend)
    assert records >= 5
    backend.tamper_audit(3)
    broken = cli(backend, "audit", "verify", "--json")
    assert broken.rc == 1
    assert broken.json["ok"] is False and broken.json["seq"] == 3
    assert "content does not match its hash" in broken.json["message"]


def test_serve_runs_a_submitted_task_and_an_approval_through_the_api(backend, serve):
    model = serve("openai", refund_script())
    spec = backend.ws.spec(model, tools=[tool("lookup_order"), tool("issue_refund", "ask")])
    tokens_file = backend.ws.root / "tokens"
    submit = make_token(tokens_file, "ci-bot", "submit")
    approve = make_token(tokens_file, "alice", "approve")
    service = start_service(backend.ws.state, spec, tokens_file=tokens_file, env=backend.run_env())
    try:
        with service.client(submit) as client:
            created = client.post("/v1/tasks", json={"task": "Refund order 7"})
            assert created.status_code == 201, created.text
            task_id = created.json()["task_id"]
            parked = wait_status(client, task_id, {"waiting_approval", "failed"})
            assert parked["status"] == "waiting_approval", parked
        with service.client(approve) as approver:
            [pending] = approver.get("/v1/approvals").json()["approvals"]
            decided = approver.post(f"/v1/approvals/{pending['approval_id']}", json={"decision": "approve", "reason": "ok"})
            assert decided.status_code == 200, decided.text
            done = wait_status(approver, task_id, {"succeeded", "failed"})
        assert done["status"] == "succeeded" and done["output"] == "Refund handled."
        assert len(backend.ws.effects_done()) == 1
    finally:
        assert service.stop() == 0, service.log()
    assert_audit_intact(backend)


def test_rotated_secret_stays_redacted_on_every_store(backend, serve):
    """Issue 13's secret history on each backend: run with value A, rotate to B, resume; a tool
    then reads A from an old file. SQLite keeps the fingerprints in the state directory,
    PostgreSQL in its tables (nothing local); neither keeps the values."""
    shutil.copy(HERE / "canary_tools.py", backend.ws.root / "tools.py")
    old, new = "old-value-0a1b2c3d4e5f", "new-value-9z8y7x6w5v"
    conf = backend.ws.root / "old.conf"
    conf.write_text(f"api_key = {old}\n")
    model = serve("openai", [calls(Call("ship", {"note": "x"})), calls(Call("read_conf", {"path": str(conf)})), final("done")])
    spec = backend.ws.spec(model, tools=[tool("ship", "ask"), tool("read_conf")],
                           secrets=[{"name": "canary", "from": "env:CANARY_SECRET"}])
    first = cli(backend, "run", "--agent", str(spec), "--task", "t", "--json", env={"CANARY_SECRET": old})
    assert first.rc == 0, first.stderr
    decided = cli(backend, "approvals", "decide", first.json["pending_approval"]["id"], "approve", "--reason", f"ok {old}")
    assert decided.rc == 0, decided.stderr
    second = cli(backend, "resume", first.json["task_id"], "--json", env={"CANARY_SECRET": new})
    assert second.rc == 0 and second.json["status"] == "succeeded", second.stderr
    assert model.tool_results(-1)[-1]["content"] == "api_key = [REDACTED:canary (earlier value)]\n"
    [decision] = [r for r in backend.audit_records() if r["kind"] == "approval_decided"]
    assert decision["data"]["reason"] == "ok [REDACTED:canary]"
    if backend.name == "sqlite":
        stored = (backend.ws.state / "secret-fingerprints.json").read_text()
    else:
        assert not backend.ws.state.exists()
        rows = backend.secret_history_rows()
        assert len(rows) == 2 + 1  # one fingerprint per value seen, and the key
        stored = repr(rows)
    assert old not in stored and new not in stored
    assert_audit_intact(backend)


def test_operator_actions_are_not_kept_without_their_audit_record(backend, serve):
    """A decision and the kill switch commit with their audit record or not at all (on
    PostgreSQL the record is a row written in the action's own transaction)."""
    model = serve("openai", refund_script())
    parked = run_task(backend, backend.ws.spec(model, tools=[tool("lookup_order"), tool("issue_refund", "ask")]))
    approval_id = parked["pending_approval"]["id"]
    records = len(backend.audit_records())
    backend.break_audit()
    decided = cli(backend, "approvals", "decide", approval_id, "approve")
    assert decided.rc == 2 and "cannot write the audit log" in decided.stderr and "Traceback" not in decided.stderr
    killed = cli(backend, "kill")
    assert killed.rc == 2 and "cannot write the audit log" in killed.stderr
    assert backend.approval_status(approval_id) == "pending"
    assert not backend.kill_switch_engaged()
    assert backend.task_statuses() == ["waiting_approval"]
    if backend.name != "sqlite":
        assert len(backend.audit_records()) == records


def test_no_task_is_claimed_while_the_kill_switch_is_engaged(backend, monkeypatch):
    """The switch is read with the claim (one transaction; on aws after the message arrives),
    so a task submitted after the switch went on never starts until it is off again."""
    import time

    from runtime.store_api import Submission, open_store

    for name, value in backend.env.items():
        monkeypatch.setenv(name, value)
    store = open_store(backend.url or f"sqlite://{backend.ws.state.absolute()}")
    store.receive_wait_seconds = 0  # type: ignore[attr-defined]  # (aws: no long poll)
    try:
        store.engage_global_kill({"by": "test", "reason": "incident"})
        store.submit_task(Submission(task_id="tsk_held", agent_name="refunds", agent_version="v1", spec_text="{}",
                                     spec_path=None, spec_dir="/", task_text="x", request_sha256="0" * 64,
                                     submitted_by="test"))
        assert [store.claim_next("w1", "v1", 30) for _ in range(3)] == [None] * 3
        assert store.get_task("tsk_held").status == "queued"  # type: ignore[union-attr]
        assert store.clear_global_kill()
        claim, deadline = None, time.monotonic() + 60  # aws: the refused message is back within a second or so
        while claim is None and time.monotonic() < deadline:
            claim = store.claim_next("w1", "v1", 30)
        assert claim is not None and claim.task_id == "tsk_held"
    finally:
        store.close()
