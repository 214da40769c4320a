"""SIGKILL at several points, then `resume`: nothing completed is repeated, side effects happen once."""

from __future__ import annotations

import random
import sqlite3
import threading
import time

import pytest
from runtime_testkit import (
    Call,
    calls,
    final,
    kill_when,
    run_cli,
    start_cli,
    tool,
    wait_killed,
)


def script():
    return [
        calls(Call("lookup_order", {"order_id": 7})),
        calls(Call("issue_refund", {"order_id": 7, "amount": 20.0})),
        final("Refunded."),
    ]


def turns(model):
    return [model.turn_of(body) for body in model.requests]


def task_ids(ws):
    with sqlite3.connect(ws.state / "airlock.db") as db:
        return [row[0] for row in db.execute("SELECT id FROM tasks")]


def assert_state_sound(ws):
    with sqlite3.connect(ws.state / "airlock.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    verified = run_cli("audit", "verify", "--state", str(ws.state))
    assert verified.rc == 0, verified.stderr


def resume(ws, task_id):
    res = run_cli("resume", task_id, "--state", str(ws.state), "--json", env=ws.env)
    assert res.rc == 0, res.stderr
    return res.json


@pytest.mark.parametrize("marker", ["crash_before_effect", "crash_after_effect"])
def test_sigkill_inside_a_tool_retries_it_with_the_same_idempotency_key(ws, serve, marker):
    model = serve("openai", script())
    spec = ws.spec(model, tools=[tool("lookup_order"), tool("issue_refund")])
    ws.arm(marker)
    crashed = run_cli("run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), "--json", env=ws.env)
    assert crashed.rc == -9
    [task_id] = task_ids(ws)
    assert run_cli("status", task_id, "--state", str(ws.state), "--json").json["status"] == "running"

    out = resume(ws, task_id)
    assert out["status"] == "succeeded" and out["output"] == "Refunded."
    # Completed model calls were not repeated: one request per turn.
    assert turns(model) == [0, 1, 2]
    assert out["usage"]["model_calls"] == 3
    # The tool ran twice (killed, then retried) with one key; the side effect happened once.
    attempts = ws.attempts()
    assert len(attempts) == 2 and attempts[0] == attempts[1]
    assert ws.effects_done() == attempts[:1]
    tool_calls = [
        r["data"] for r in ws.audit_lines() if r["kind"] == "tool_call" and r["data"]["tool"] == "issue_refund"
    ]
    assert [c["retry"] for c in tool_calls] == [False, True]
    assert tool_calls[0]["idempotency_key"] == tool_calls[1]["idempotency_key"] == attempts[0]
    assert_state_sound(ws)


@pytest.mark.parametrize("kill_at_request,expected_turns", [(2, [0, 1, 1, 2]), (3, [0, 1, 2, 2])])
def test_sigkill_during_a_model_call_repeats_only_that_call(ws, serve, kill_at_request, expected_turns):
    model = serve("anthropic", script(), model="claude-haiku-4-5")
    spec = ws.spec(model, tools=[tool("lookup_order"), tool("issue_refund")])
    holder = {}
    kill_when(model, kill_at_request, holder)
    holder["proc"] = start_cli(
        "run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), "--json", env=ws.env
    )
    wait_killed(holder["proc"])
    model.on_request = None
    [task_id] = task_ids(ws)

    out = resume(ws, task_id)
    assert out["status"] == "succeeded"
    # Only the call in flight when the process died is sent again.
    assert turns(model) == expected_turns
    assert out["usage"]["model_calls"] == 3
    # The refund ran exactly once, whether it came after the kill (request 2) or before (3).
    assert len(ws.attempts()) == 1 and len(ws.effects_done()) == 1
    assert_state_sound(ws)


def test_repeated_kills_at_random_points_still_give_exactly_once(ws, serve):
    """Chaos: SIGKILL run/resume at random moments until the task finishes."""
    orders = list(range(1, 6))
    model = serve(
        "openai",
        [calls(Call("issue_refund", {"order_id": o, "amount": 1.0})) for o in orders] + [final("All refunded.")],
    )

    def slow(n, body):  # give the kills something to land in: model calls take a moment
        time.sleep(0.1)

    model.on_request = slow
    spec = ws.spec(model, tools=[tool("issue_refund")])
    rng = random.Random(1234)
    status = None
    kills = 0
    for _ in range(12):
        ids = task_ids(ws) if (ws.state / "airlock.db").exists() else []
        if ids:
            args = ["resume", ids[0], "--state", str(ws.state), "--json"]
        else:
            args = ["run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), "--json"]
        # Kill on observed progress, never on a timer racing start-up: once the process has
        # sent 1 or 2 more model requests, at a random point around that call.
        target = model.count + rng.randint(1, 2)
        proc = start_cli(*args, env=ws.env)
        while model.count < target and proc.poll() is None:
            time.sleep(0.01)
        if proc.poll() is None:
            time.sleep(rng.uniform(0, 0.15))
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            kills += 1
            continue
        stdout = proc.stdout.read() if proc.stdout else ""
        assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
        status = stdout.strip().splitlines()[-1]
        if '"succeeded"' in status:
            break
    else:
        out = resume(ws, task_ids(ws)[0])
        status = out["status"]
    assert "succeeded" in status
    # The first kill lands after at most 2 of the 6 model calls the task needs.
    assert kills >= 1
    # Five refunds, each applied once, whatever the number of executions.
    effects = ws.effects_done()
    assert len(effects) == len(set(effects)) == 5
    assert set(ws.attempts()) == set(effects)
    assert len(task_ids(ws)) == 1
    assert_state_sound(ws)


def test_a_task_cannot_be_resumed_while_its_process_runs(ws, serve):
    release = threading.Event()
    model = serve("openai", script())
    model.on_request = lambda n, body: release.wait(60) if n == 1 else None
    spec = ws.spec(model, tools=[tool("lookup_order"), tool("issue_refund")])
    proc = start_cli("run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), "--json", env=ws.env)
    try:
        while model.count == 0 and proc.poll() is None:  # until the run is inside its first model call
            time.sleep(0.02)
        busy = run_cli("resume", task_ids(ws)[0], "--state", str(ws.state), env=ws.env)
        assert busy.rc == 2 and f"is already running in process {proc.pid}" in busy.stderr
    finally:
        release.set()
    stdout, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0 and '"succeeded"' in stdout.splitlines()[-1]
    assert turns(model) == [0, 1, 2] and len(ws.attempts()) == 1
