"""The kill switch: tasks stop at the next step boundary as `killed`, and resume only explicitly."""

from __future__ import annotations

import json
import sqlite3

from runtime_testkit import Call, calls, final, run_cli, start_cli, tool


def script():
    return [
        calls(Call("lookup_order", {"order_id": 7})),
        calls(Call("issue_refund", {"order_id": 7, "amount": 5.0})),
        final("Done."),
    ]


def only_task(ws):
    with sqlite3.connect(ws.state / "airlock.db") as db:
        return db.execute("SELECT id FROM tasks").fetchone()[0]


def test_kill_one_running_task_stops_it_at_the_next_boundary(ws, serve):
    model = serve("openai", script())
    spec = ws.spec(model, tools=[tool("lookup_order"), tool("issue_refund")])
    said = {}

    def kill_during_second_call(n, body):
        if n == 2:  # the operator pulls the switch while the model is thinking
            said["kill"] = run_cli("kill", only_task(ws), "--state", str(ws.state))

    model.on_request = kill_during_second_call
    proc = start_cli("run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), "--json", env=ws.env)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert "stopping at the next step boundary" in said["kill"].stdout
    out = json.loads(stdout.splitlines()[-1])
    assert out["status"] == "killed"
    assert "resume" in out["error"]
    # The in-flight model call completed and was recorded; the refund it asked for never started.
    assert model.count == 2 and ws.attempts() == []
    assert out["usage"]["model_calls"] == 2

    status = run_cli("status", out["task_id"], "--state", str(ws.state), "--json")
    assert status.json["status"] == "killed"
    model.on_request = None
    resumed = run_cli("resume", out["task_id"], "--state", str(ws.state), "--json", env=ws.env)
    assert resumed.json["status"] == "succeeded"
    assert model.count == 3 and len(ws.attempts()) == 1


def test_kill_everything_blocks_new_steps_until_cleared(ws, serve):
    model = serve("openai", script())
    spec = ws.spec(model, tools=[tool("lookup_order"), tool("issue_refund", "ask")])
    parked = run_cli("run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), "--json", env=ws.env).json
    assert parked["status"] == "waiting_approval"

    engaged = run_cli("kill", "--state", str(ws.state), "--json")
    assert engaged.rc == 0
    assert engaged.json == {"kill_switch": "engaged", "stopping": [], "killed": [parked["task_id"]]}
    # A parked task has no process to stop: it is killed at once.
    assert run_cli("status", parked["task_id"], "--state", str(ws.state), "--json").json["status"] == "killed"

    # No new step starts: a new task is recorded as killed before its first model call ...
    calls_before = model.count
    fresh = run_cli("run", "--agent", str(spec), "--task", "t2", "--state", str(ws.state), "--json", env=ws.env)
    assert fresh.rc == 0 and fresh.json["status"] == "killed"
    assert "--clear" in fresh.json["error"]
    assert model.count == calls_before
    # ... and resuming does not get past the switch either.
    still = run_cli("resume", parked["task_id"], "--state", str(ws.state), "--json", env=ws.env)
    assert still.json["status"] == "killed" and model.count == calls_before

    cleared = run_cli("kill", "--state", str(ws.state), "--clear")
    assert cleared.rc == 0 and "killed tasks stay killed until resumed" in cleared.stdout
    # Clearing does not restart anything by itself.
    assert run_cli("status", parked["task_id"], "--state", str(ws.state), "--json").json["status"] == "killed"
    # Explicit resume: the approval is still pending, so the task is back to waiting for it.
    back = run_cli("resume", parked["task_id"], "--state", str(ws.state), "--json", env=ws.env)
    assert back.json["status"] == "waiting_approval"
    assert back.json["pending_approval"]["id"] == parked["pending_approval"]["id"]
    kinds = [r["kind"] for r in ws.audit_lines()]
    assert "kill_switch_engaged" in kinds and "kill_switch_cleared" in kinds and "task_killed" in kinds


def test_kill_arguments_are_checked(ws, serve):
    model = serve("openai", [final("done")])
    done = run_cli(
        "run", "--agent", str(ws.spec(model, tools=[])), "--task", "t", "--state", str(ws.state), "--json", env=ws.env
    ).json
    finished = run_cli("kill", done["task_id"], "--state", str(ws.state))
    assert finished.rc == 0 and "already succeeded" in finished.stdout
    unknown = run_cli("kill", "tsk_missing", "--state", str(ws.state))
    assert unknown.rc == 2 and "unknown task id 'tsk_missing'" in unknown.stderr
    both = run_cli("kill", done["task_id"], "--clear", "--state", str(ws.state))
    assert both.rc == 2 and "takes no TASK_ID" in both.stderr
    nowhere = run_cli("kill", "--state", str(ws.root / "nowhere"))
    assert nowhere.rc == 2 and "holds no Airlock state" in nowhere.stderr
