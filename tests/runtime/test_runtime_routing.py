"""Routing: the planner takes the first planning step; airgapped refuses routes that leave the cluster."""

from __future__ import annotations

from runtime_testkit import Call, calls, final, run_cli, tool


def test_first_planning_step_goes_to_planner_then_default(ws, serve):
    planner = serve(
        "anthropic",
        [calls(Call("lookup_order", {"order_id": 1}), text="Plan: look it up, then answer.")],
        model="claude-opus-4-5",
    )
    # The default route never sees turn 0 (the planner's), hence the placeholder.
    default = serve(
        "openai", [final("unused"), calls(Call("lookup_order", {"order_id": 2})), final("Answer.")], model="qwen3-8b"
    )
    spec = ws.spec(default, planner=planner, tools=[tool("lookup_order")])
    res = run_cli("run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), "--json", env=ws.env)
    assert res.rc == 0, res.stderr
    out = res.json
    assert out["status"] == "succeeded" and out["output"] == "Answer."
    assert planner.count == 1 and default.count == 2
    # The default route continues the planner's conversation, in its own wire format.
    assert [default.turn_of(b) for b in default.requests] == [1, 2]
    first_for_default = default.requests[0]["messages"]
    assert first_for_default[2]["content"] == "Plan: look it up, then answer."
    assert first_for_default[2]["tool_calls"][0]["function"]["name"] == "lookup_order"
    # Opus 4.5 list price for the planner call (100 in / 20 out); the local route is free.
    assert out["usage"]["cost_usd"] == round((100 * 5 + 20 * 25) / 1e6, 6)


def test_airgapped_profile_refuses_cloud_routes_at_validation(ws, serve):
    local = serve("openai", [final("hi")])
    spec = ws.spec(
        local,
        planner={"provider": "anthropic", "baseUrl": "https://api.anthropic.com", "model": "claude-sonnet-4-5"},
        tools=[],
    )
    res = run_cli(
        "run",
        "--agent",
        str(spec),
        "--task",
        "t",
        "--state",
        str(ws.state),
        env={**ws.env, "AIRLOCK_PROFILE": "airgapped"},
    )
    assert res.rc == 2
    assert "models.planner.baseUrl" in res.stderr and "'https://api.anthropic.com' is outside the cluster" in res.stderr
    assert "allowed: loopback, a bare service name, *.svc or *.svc.cluster.local" in res.stderr
    assert "Traceback" not in res.stderr
    assert local.count == 0 and not ws.state.exists()

    # The same spec is fine in the cloud profile, and a loopback-only spec is fine airgapped.
    local_only = ws.spec(local, tools=[], filename="local.yaml")
    ok = run_cli(
        "run",
        "--agent",
        str(local_only),
        "--task",
        "t",
        "--state",
        str(ws.state),
        "--json",
        env={**ws.env, "AIRLOCK_PROFILE": "airgapped"},
    )
    assert ok.rc == 0 and ok.json["status"] == "succeeded"


def test_airgapped_refuses_an_outside_webhook_and_unknown_profiles(ws, serve):
    local = serve("openai", [final("hi")])
    spec = ws.spec(local, tools=[], approvals={"webhookUrl": "https://hooks.slack.com/services/x"})
    res = run_cli(
        "run",
        "--agent",
        str(spec),
        "--task",
        "t",
        "--state",
        str(ws.state),
        env={**ws.env, "AIRLOCK_PROFILE": "airgapped"},
    )
    assert res.rc == 2 and "approvals.webhookUrl" in res.stderr
    bogus = run_cli(
        "run",
        "--agent",
        str(spec),
        "--task",
        "t",
        "--state",
        str(ws.state),
        env={**ws.env, "AIRLOCK_PROFILE": "offline"},
    )
    assert (
        bogus.rc == 2 and "AIRLOCK_PROFILE='offline' is not allowed; allowed: cloud, hybrid, airgapped" in bogus.stderr
    )


def test_resume_revalidates_under_the_current_profile(ws, serve):
    local = serve("openai", [final("hi")])
    spec = ws.spec(
        local,
        planner={
            "provider": "openai",
            "baseUrl": "https://api.openai.com/v1",
            "model": "gpt-x",
            "prices": {"input": 1, "output": 1},
        },
        tools=[],
    )
    # Create state, engage the kill switch, so the cloud-profile run starts a task that
    # stops before any model call (tests never leave 127.0.0.1).
    assert (
        run_cli(
            "run", "--agent", str(ws.spec(local, tools=[], filename="l.yaml")), "--task", "t", "--state", str(ws.state)
        ).rc
        == 0
    )
    assert run_cli("kill", "--state", str(ws.state)).rc == 0
    res = run_cli("run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), "--json", env=ws.env)
    assert res.rc == 0 and res.json["status"] == "killed"
    assert run_cli("kill", "--state", str(ws.state), "--clear").rc == 0
    again = run_cli(
        "resume", res.json["task_id"], "--state", str(ws.state), env={**ws.env, "AIRLOCK_PROFILE": "airgapped"}
    )
    assert again.rc == 2 and "models.planner.baseUrl" in again.stderr
    assert local.count == 1
