"""Budgets are checked before every model call: the task stops before overspending."""

from __future__ import annotations

import pytest
from runtime_testkit import Call, calls, final, run_cli, tool


def endless(n: int = 12, usage: tuple[int, int] = (100, 20)):  # a model that never stops calling tools
    return [calls(Call("lookup_order", {"order_id": i}), usage=usage) for i in range(n)]


def run(ws, spec):
    res = run_cli("run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), "--json", env=ws.env)
    assert res.rc == 0, res.stderr
    return res.json


def test_max_steps_stops_before_the_next_model_call(ws, serve):
    model = serve("openai", endless())
    out = run(ws, ws.spec(model, tools=[tool("lookup_order")], budgets={"maxSteps": 3}))
    assert out["status"] == "budget_exceeded"
    assert model.count == 3
    assert out["usage"]["steps"] == 3 and out["usage"]["model_calls"] == 3
    assert out["usage"]["input_tokens"] == 300
    assert "maxSteps=3" in out["error"] and "before step 4" in out["error"]
    assert out["output"] is None


def test_max_input_tokens_stops_when_the_next_call_would_cross_it(ws, serve):
    model = serve("openai", endless())
    out = run(ws, ws.spec(model, tools=[tool("lookup_order")], budgets={"maxInputTokens": 250}))
    # 2 calls spent 200; the next prompt is at least as long as the last (100): 300 > 250.
    assert out["status"] == "budget_exceeded"
    assert model.count == 2
    assert out["usage"]["input_tokens"] == 200
    assert "maxInputTokens=250" in out["error"]


def test_max_output_tokens_caps_the_last_call_and_never_overspends(ws, serve):
    model = serve("openai", endless(usage=(100, 20)))
    out = run(ws, ws.spec(model, tools=[tool("lookup_order")], budgets={"maxOutputTokens": 50}))
    assert out["status"] == "budget_exceeded"
    assert model.count == 3
    assert [r["max_tokens"] for r in model.requests] == [50, 30, 10]
    assert out["usage"]["output_tokens"] == 50
    assert "maxOutputTokens=50" in out["error"]


def test_an_answer_cut_short_by_the_budget_is_not_a_success(ws, serve):
    model = serve(
        "anthropic",
        [calls(Call("lookup_order", {"order_id": 1}), usage=(100, 20)), final("A long answer", usage=(100, 500))],
        model="claude-haiku-4-5",
    )
    out = run(ws, ws.spec(model, tools=[tool("lookup_order")], budgets={"maxOutputTokens": 50}))
    assert model.requests[1]["max_tokens"] == 30
    assert out["status"] == "budget_exceeded" and out["output"] == "A long answer"
    assert "cut off at 30 output tokens" in out["error"]
    assert out["usage"]["output_tokens"] == 50


def test_max_cost_uses_the_price_table_and_stops_before_overspending(ws, serve):
    # Claude Sonnet 4.x: $3 in / $15 out per million. Each call: 1000 in, 100 out = $0.0045.
    model = serve("anthropic", endless(usage=(1000, 100)), model="claude-sonnet-4-5")
    out = run(ws, ws.spec(model, tools=[tool("lookup_order")], budgets={"maxCostUsd": 0.01}))
    assert out["status"] == "budget_exceeded"
    # After 2 calls $0.009 is spent; the next prompt alone costs >= $0.003: stop before it.
    assert model.count == 2
    assert out["usage"]["cost_usd"] == pytest.approx(0.009)
    assert "maxCostUsd=0.01" in out["error"]


def test_spec_prices_override_the_table(ws, serve):
    model = serve("openai", [final("hi", usage=(2_000_000, 4_000))])
    route = {"provider": "openai", "baseUrl": model.url, "model": "qwen3-8b", "prices": {"input": 0.5, "output": 2.0}}
    out = run(ws, ws.spec(route, tools=[]))
    assert out["status"] == "succeeded"
    assert out["usage"]["cost_usd"] == pytest.approx(2_000_000 * 0.5 / 1e6 + 4_000 * 2.0 / 1e6)


def test_max_seconds_stops_before_the_next_model_call(ws, serve):
    model = serve("openai", [calls(Call("nap", {"seconds": 0.5})), final("never reached")])
    out = run(ws, ws.spec(model, tools=[tool("nap")], budgets={"maxSeconds": 0.4}))
    assert out["status"] == "budget_exceeded"
    assert model.count == 1
    assert "maxSeconds=0.4" in out["error"]
