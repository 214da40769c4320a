"""The loop end to end through the real CLI and real HTTP: plan -> act -> observe."""

from __future__ import annotations

import json

import pytest
from runtime_testkit import Call, calls, final, run_cli, tool


@pytest.mark.parametrize("flavor", ["openai", "anthropic"])
def test_tool_calling_task_succeeds_with_json_contract(ws, serve, flavor):
    model = serve(
        flavor,
        [
            calls(Call("lookup_order", {"order_id": 1042}), usage=(120, 15)),
            calls(Call("issue_refund", {"order_id": 1042, "amount": 10.5}), usage=(180, 25)),
            final("Refunded 10.50 EUR for order 1042.", usage=(240, 30)),
        ],
        model="claude-sonnet-4-5" if flavor == "anthropic" else "qwen3-8b",
    )
    spec = ws.spec(model, tools=[tool("lookup_order"), tool("issue_refund")])
    res = run_cli(
        "run", "--agent", str(spec), "--task", "Refund order 1042", "--state", str(ws.state), "--json", env=ws.env
    )
    assert res.rc == 0, res.stderr
    out = res.json
    assert set(out) >= {"task_id", "status", "output", "error", "agent_version", "usage"}
    assert out["status"] == "succeeded"
    assert out["output"] == "Refunded 10.50 EUR for order 1042."
    assert out["error"] is None
    assert len(out["agent_version"]) == 16
    usage = out["usage"]
    assert usage["steps"] == 3 and usage["model_calls"] == 3
    assert usage["input_tokens"] == 540 and usage["output_tokens"] == 70
    if flavor == "anthropic":  # Claude Sonnet 4.x: $3 / $15 per million tokens
        assert usage["cost_usd"] == pytest.approx((540 * 3 + 70 * 15) / 1e6)
    else:  # self-hosted on loopback: no list price
        assert usage["cost_usd"] == 0
    assert model.count == 3
    # The model saw the tool results of its calls, as real results.
    results = model.tool_results(-1)
    assert [json.loads(r["content"])["order_id"] for r in results] == [1042, 1042]
    assert not any(r["is_error"] for r in results)
    assert len(ws.effects_done()) == 1
    # Tools were advertised with schemas built from type hints and docstrings.
    first = model.requests[0]
    if flavor == "openai":
        advertised = {t["function"]["name"]: t["function"] for t in first["tools"]}
        params = advertised["issue_refund"]["parameters"]
        assert first["messages"][0] == {"role": "system", "content": "You handle refunds. Use the tools."}
    else:
        advertised = {t["name"]: t for t in first["tools"]}
        params = advertised["issue_refund"]["input_schema"]
        assert first["system"] == "You handle refunds. Use the tools."
        assert model.headers[0]["anthropic-version"] == "2023-06-01"
    assert params["properties"]["amount"] == {"type": "number", "description": "Amount in EUR."}
    assert params["required"] == ["order_id", "amount"]
    assert "context" not in params["properties"]
    assert advertised["issue_refund"]["description"] == "Refund an order."
