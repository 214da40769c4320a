"""`ask` parks the task; a human decides; resume runs the call once or tells the model no."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3

import pytest
from runtime_testkit import (
    DROP,
    Call,
    WebhookServer,
    calls,
    final,
    run_cli,
    start_cli,
    tool,
)


@pytest.fixture
def webhook():
    server = WebhookServer()
    yield server
    server.close()


def refund_script():
    return [
        calls(Call("lookup_order", {"order_id": 7})),
        calls(Call("issue_refund", {"order_id": 7, "amount": 20.0}), text="Order 7 arrived damaged; refunding 20 EUR."),
        final("Refund handled."),
    ]


def start(ws, spec):
    res = run_cli(
        "run", "--agent", str(spec), "--task", "Refund order 7", "--state", str(ws.state), "--json", env=ws.env
    )
    assert res.rc == 0, res.stderr
    return res.json


def test_approve_runs_the_call_exactly_once_and_continues(ws, serve, webhook):
    model = serve("openai", refund_script())
    spec = ws.spec(
        model, tools=[tool("lookup_order"), tool("issue_refund", "ask")], approvals={"webhookUrl": webhook.url}
    )
    parked = start(ws, spec)
    assert parked["status"] == "waiting_approval"
    assert parked["output"] is None and parked["error"] is None
    assert model.count == 2 and ws.attempts() == []  # nothing ran yet
    pending = parked["pending_approval"]
    assert pending["tool"] == "issue_refund"
    assert pending["arguments"] == {"order_id": 7, "amount": 20.0}
    assert "requires human approval" in pending["reason"]
    assert pending["model_note"] == "Order 7 arrived damaged; refunding 20 EUR."
    assert pending["requested_by"] == {"agent": "refunds", "agent_version": parked["agent_version"]}
    assert pending["task_id"] == parked["task_id"]

    # The webhook got the same small payload.
    assert len(webhook.received) == 1
    posted = json.loads(webhook.received[0]["body"])
    assert posted["type"] == "approval.requested"
    assert posted["approval"]["id"] == pending["id"] and posted["approval"]["arguments"] == pending["arguments"]

    listed = run_cli("approvals", "list", "--state", str(ws.state), "--json").json["approvals"]
    assert [a["id"] for a in listed] == [pending["id"]]
    assert listed[0]["status"] == "pending" and listed[0]["notify_status"] == "delivered: HTTP 200"
    human = run_cli("approvals", "list", "--state", str(ws.state))
    assert pending["id"] in human.stdout and "issue_refund" in human.stdout

    # Resuming before a decision changes nothing and calls no model.
    again = run_cli("resume", parked["task_id"], "--state", str(ws.state), "--json", env=ws.env)
    assert again.rc == 0 and again.json["status"] == "waiting_approval" and model.count == 2

    decided = run_cli(
        "approvals",
        "decide",
        pending["id"],
        "approve",
        "--state",
        str(ws.state),
        "--reason",
        "damaged on arrival",
        env={"AIRLOCK_APPROVER": "alice"},
    )
    assert decided.rc == 0, decided.stderr
    assert f"resume {parked['task_id']}" in decided.stdout

    done = run_cli("resume", parked["task_id"], "--state", str(ws.state), "--json", env=ws.env)
    assert done.rc == 0, done.stderr
    assert done.json["status"] == "succeeded" and done.json["output"] == "Refund handled."
    assert len(ws.attempts()) == 1 and len(ws.effects_done()) == 1
    assert model.count == 3
    assert json.loads(model.tool_results(-1)[-1]["content"])["refunded"] == 20.0
    # Usage continues across the park: the first two model calls are not repeated.
    assert done.json["usage"]["model_calls"] == 3

    assert run_cli("approvals", "list", "--state", str(ws.state), "--json").json["approvals"] == []
    everything = run_cli("approvals", "list", "--all", "--state", str(ws.state), "--json").json["approvals"]
    assert everything[0]["status"] == "approved"
    assert (
        everything[0]["decision"]["decided_by"] == "alice"
        and everything[0]["decision"]["reason"] == "damaged on arrival"
    )
    kinds = [r["kind"] for r in ws.audit_lines()]
    assert "approval_requested" in kinds and "approval_decided" in kinds and "approval_applied" in kinds


def test_deny_tells_the_model_and_the_loop_continues(ws, serve):
    model = serve("anthropic", refund_script(), model="claude-sonnet-4-5")
    spec = ws.spec(model, tools=[tool("lookup_order"), tool("issue_refund", "ask")])
    parked = start(ws, spec)
    approval_id = parked["pending_approval"]["id"]
    assert parked["pending_approval"]["notify_status"] == "not configured"
    res = run_cli("approvals", "decide", approval_id, "deny", "--state", str(ws.state), "--reason", "over the limit")
    assert res.rc == 0, res.stderr
    done = run_cli("resume", parked["task_id"], "--state", str(ws.state), "--json", env=ws.env)
    assert done.json["status"] == "succeeded"
    assert ws.attempts() == []
    last = model.tool_results(-1)[-1]
    assert last["is_error"] is True
    assert "denied the call to 'issue_refund': over the limit" in last["content"]


def test_webhook_failure_is_recorded_not_fatal(ws, serve):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    model = serve("openai", refund_script())
    spec = ws.spec(
        model,
        tools=[tool("lookup_order"), tool("issue_refund", "ask")],
        approvals={"webhookUrl": f"http://127.0.0.1:{dead_port}/hook", "timeoutSeconds": 2},
    )
    parked = start(ws, spec)
    assert parked["status"] == "waiting_approval"
    assert parked["pending_approval"]["notify_status"].startswith("failed: ConnectError")
    assert "approval_notify_failed" in [r["kind"] for r in ws.audit_lines()]


def test_decisions_are_final_and_ids_are_checked(ws, serve):
    model = serve("openai", refund_script())
    parked = start(ws, ws.spec(model, tools=[tool("lookup_order"), tool("issue_refund", "ask")]))
    approval_id = parked["pending_approval"]["id"]
    assert run_cli("approvals", "decide", approval_id, "approve", "--state", str(ws.state)).rc == 0
    twice = run_cli("approvals", "decide", approval_id, "deny", "--state", str(ws.state))
    assert twice.rc == 2 and "already decided (approved" in twice.stderr and "Traceback" not in twice.stderr
    unknown = run_cli("approvals", "decide", "apr_nope", "approve", "--state", str(ws.state))
    assert unknown.rc == 2 and "unknown approval id 'apr_nope'" in unknown.stderr
    bad = run_cli("approvals", "decide", approval_id, "maybe", "--state", str(ws.state))
    assert bad.rc == 2 and "invalid choice: 'maybe'" in bad.stderr and "'approve', 'deny'" in bad.stderr


def test_a_notification_lost_to_a_crash_is_sent_again_on_resume(ws, serve, webhook):
    model = serve("openai", refund_script())
    spec = ws.spec(
        model, tools=[tool("lookup_order"), tool("issue_refund", "ask")], approvals={"webhookUrl": webhook.url}
    )
    holder = {}

    def die_while_posting(n, body):  # the approval is stored; the process dies mid-POST
        if n == 1:
            os.kill(holder["proc"].pid, signal.SIGKILL)
            holder["proc"].wait()
            return DROP
        return None

    webhook.on_request = die_while_posting
    holder["proc"] = start_cli("run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), env=ws.env)
    holder["proc"].wait(timeout=120)
    assert holder["proc"].returncode == -signal.SIGKILL
    [pending] = run_cli("approvals", "list", "--state", str(ws.state), "--json").json["approvals"]
    assert pending["notify_status"] is None

    with sqlite3.connect(ws.state / "airlock.db") as db:
        [(task_id,)] = db.execute("SELECT id FROM tasks").fetchall()
    res = run_cli("resume", task_id, "--state", str(ws.state), "--json", env=ws.env)
    assert res.rc == 0 and res.json["status"] == "waiting_approval"
    assert res.json["pending_approval"]["notify_status"] == "delivered: HTTP 200"
    assert len(webhook.received) == 2  # at least once: the lost POST is repeated
    assert json.loads(webhook.received[1]["body"])["approval"]["id"] == pending["id"]
    assert model.count == 2  # and no model call was repeated
