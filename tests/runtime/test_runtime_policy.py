"""Policies and tool failures: what the model gets back, and that the loop carries on."""

from __future__ import annotations

import json

from runtime_testkit import Call, calls, final, run_cli, tool


def test_denied_unknown_invalid_and_failing_calls_become_error_results(ws, serve):
    model = serve(
        "openai",
        [
            calls(
                Call("drop_table", {"table": "orders"}),
                Call("format_disk", {}),
                Call("lookup_order", '{"order_id": 10'),  # truncated JSON
                Call("lookup_order", {"order_id": "not-a-number"}),
                Call("lookup_order", {"order_id": 7, "extra": True}),
                Call("explode", {"reason": "db down"}),
                Call("lookup_order", {"order_id": "42"}),  # lax: "42" is a valid int
            ),
            final("Done despite the errors."),
        ],
    )
    # drop_table has no function in tools.py: a denied tool is never imported, let alone run.
    spec = ws.spec(model, tools=[tool("lookup_order"), tool("explode"), tool("drop_table", "deny")])
    res = run_cli("run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), "--json", env=ws.env)
    assert res.rc == 0, res.stderr
    out = res.json
    assert out["status"] == "succeeded" and out["output"] == "Done despite the errors."
    assert model.count == 2

    results = model.tool_results(-1)
    assert len(results) == 7
    denied, unknown, bad_json, bad_type, extra, raised, ok = (r["content"] for r in results)
    assert denied.startswith("error:") and "'drop_table' is denied by policy" in denied and "not executed" in denied
    assert "'format_disk' is not in the agent spec" in unknown and "explode, lookup_order" in unknown
    assert "invalid arguments for tool 'lookup_order'" in bad_json and "not valid JSON" in bad_json
    assert "order_id" in bad_type and "valid integer" in bad_type
    assert "extra" in extra and "Extra inputs are not permitted" in extra
    assert raised == "error: tool 'explode' raised ValueError: boom: db down"
    assert json.loads(ok)["order_id"] == 42
    # Denied and unknown tools are not offered to the model in the first place.
    assert sorted(t["function"]["name"] for t in model.requests[0]["tools"]) == ["explode", "lookup_order"]

    decisions = [(r["data"]["tool"], r["data"]["decision"]) for r in ws.audit_lines() if r["kind"] == "policy_decision"]
    assert decisions[:2] == [("drop_table", "deny"), ("format_disk", "deny")]


def test_structured_arguments_validate_nested_models_and_literals(ws, serve):
    model = serve(
        "anthropic",
        [
            calls(
                Call("ship", {"order_id": 1, "speed": "express", "address": {"street": "Main 1", "zip": "1010"}}),
                Call("ship", {"order_id": 1, "speed": "teleport", "address": {"street": "Main 1"}}),
                Call("async_lookup", {"order_id": 5}),
            ),
            final("ok"),
        ],
        model="claude-haiku-4-5",
    )
    spec = ws.spec(model, tools=[tool("ship"), tool("async_lookup")])
    res = run_cli("run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), "--json", env=ws.env)
    assert res.rc == 0, res.stderr
    good, bad, async_result = model.tool_results(-1)
    assert json.loads(good["content"]) == {"order_id": 1, "speed": "express", "zip": "1010", "note": ""}
    assert bad["is_error"] is True  # Anthropic's tool_result carries the error flag
    assert "speed" in bad["content"] and "'standard' or 'express'" in bad["content"]
    assert "address.zip" in bad["content"] and "Field required" in bad["content"]
    assert json.loads(async_result["content"]) == {"order_id": 5, "async": True}
    schema = {t["name"]: t["input_schema"] for t in model.requests[0]["tools"]}["ship"]
    assert schema["properties"]["speed"]["enum"] == ["standard", "express"]
    assert schema["required"] == ["order_id", "speed", "address"]
