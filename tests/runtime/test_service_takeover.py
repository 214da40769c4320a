"""Two `serve` processes on one store (SQLite state directory, PostgreSQL or AWS); one is SIGKILLed mid-run and restarted.

Every task ends `succeeded`, every side effect happens exactly once (counted by the
test's own tool, which logs each execution with its process id), and no task is ever
run by two live processes: a task touched by the killed process is continued by another
only after the kill.
"""

from __future__ import annotations

import os
import signal
import time
from collections import defaultdict

import httpx
import pytest
from runtime_testkit import Call, calls, final, run_cli, tool
from service_kit import make_token, start_service, wait_for

TASKS = {"sqlite": 200, "postgresql": 120}
MODEL_SECONDS = {"sqlite": 0.05, "postgresql": 0.15}


# Not on aws: there tests/runtime/test_store_chaos.py kills and restarts serve processes
# mid-run and checks takeovers (this test on moto took ~160 s of CI time for the same path).
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_sigkilled_process_tasks_are_taken_over_exactly_once(ws, serve, services, backend):
    total = TASKS[backend.name]
    def effect_turn(body):
        order = int(next(m for m in body["messages"] if m["role"] == "user")["content"].split()[-1])
        return calls(Call("record_effect", {"order_id": order}))

    model = serve("openai", [effect_turn, final("done")])
    # Model calls take a moment, like real ones, long enough that work queues up behind the
    # submissions: workers that keep up with them would hold no lease when A is killed.
    latency = MODEL_SECONDS[backend.name]
    model.on_request = lambda n, body: time.sleep(latency)
    spec = ws.spec(model, tools=[tool("record_effect")])
    tokens_file = ws.root / "tokens"
    token = make_token(tokens_file, "loadgen", "admin")
    env = backend.run_env({"AIRLOCK_LEASE_SECONDS": "5"})
    a = start_service(ws.state, spec, tokens_file=tokens_file, env=env, concurrency=4, log_name="a.log")
    b = start_service(ws.state, spec, tokens_file=tokens_file, env=env, concurrency=4, log_name="b.log")
    services += [a, b]
    attempts_log = ws.effects / "shared_attempts.log"

    def attempts():
        if not attempts_log.exists():
            return []
        rows = []
        for line in attempts_log.read_text().splitlines():
            task_id, pid, at, key = line.split()
            rows.append((task_id, int(pid), float(at), key))
        return rows

    ids = []
    with a.client(token) as ca, b.client(token) as cb:
        # Queue everything first (the kill switch holds the workers), so the kill below lands
        # with most of the work still ahead, however fast this machine is.
        assert ca.post("/v1/kill").json() == {"engaged": True}
        for i in range(total):
            client = ca if i % 2 else cb
            response = client.post("/v1/tasks", json={"task": f"Handle order {i}"})
            assert response.status_code == 201, response.text
            ids.append(response.json()["task_id"])
        assert cb.delete("/v1/kill").json() == {"engaged": False}

    # Kill A once it is visibly mid-run: it has executed tools and still holds leases.
    wait_for(
        lambda: sum(1 for r in attempts() if r[1] == a.proc.pid) >= 20 and backend.leases_held_by(a.proc.pid) > 0,
        a.proc, a.log_path, "A to be busy",
    )
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait()
    killed_at = time.time()
    restarted = start_service(ws.state, spec, tokens_file=tokens_file, env=env, concurrency=4, log_name="a2.log")
    services.append(restarted)

    with b.client(token) as cb:
        def all_done():
            page = cb.get("/v1/tasks", params={"status": "succeeded", "limit": 200}).json()
            return len(page["tasks"]) == total

        wait_for(all_done, b.proc, b.log_path, "every task to succeed", timeout=600)
        statuses = {cb.get(f"/v1/tasks/{t}").json()["status"] for t in ids}
    assert statuses == {"succeeded"}

    # Exactly once: one applied effect per task, whatever the number of executions.
    effects = [line.split() for line in (ws.effects / "shared_effects.log").read_text().splitlines()]
    assert sorted(task for _, task in effects) == sorted(ids)
    assert len({key for key, _ in effects}) == total

    # Never two live runners: per task, executions by the killed process all precede the
    # kill, and everything after it comes from one live process.
    by_task = defaultdict(list)
    for task_id, pid, at, _ in attempts():
        by_task[task_id].append((pid, at))
    taken_over = 0
    for task_id, rows in by_task.items():
        live = {pid for pid, at in rows if pid != a.proc.pid}
        assert len(live) <= 1, f"task {task_id} ran in two live processes: {rows}"
        if any(pid == a.proc.pid for pid, _ in rows) and live:
            taken_over += 1
            assert all(at <= killed_at for pid, at in rows if pid == a.proc.pid)
            assert all(at >= killed_at for pid, at in rows if pid != a.proc.pid)
    metrics = httpx.get(b.url + "/metrics").text + httpx.get(restarted.url + "/metrics").text
    expiries = sum(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith("airlock_lease_expiries_total"))
    # A held leases when it died; they expired and were taken over (with or without a tool re-run).
    assert expiries >= 1
    assert restarted.stop() == 0 and b.stop() == 0
    if backend.name == "sqlite":
        assert os.path.exists(ws.state / "airlock.db")
    else:  # nothing on local disk; the one audit chain written by three processes verifies
        assert not ws.state.exists()
    verified = run_cli("audit", "verify", "--json", *backend.args(), env=backend.run_env())
    assert verified.rc == 0 and verified.json["ok"], verified.stdout + verified.stderr
