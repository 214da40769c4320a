"""The loop keeps calls inside the context window: through the real CLI and real HTTP."""

from __future__ import annotations

import json
import sqlite3

from runtime_testkit import Call, calls, final, run_cli, tool

WINDOW = 2048


def test_a_long_task_is_compacted_and_recorded(ws, serve):
    answered = {"n": 0}

    def step(body):
        answered["n"] += 1
        if answered["n"] <= 8:  # each turn brings ~1000 characters of notes
            return calls(Call("lookup_order", {"order_id": 1042}), text="note " * 200)
        return final("Order 1042 was delivered.")

    model = serve("openai", [step] * 20, model="qwen3-8b")
    spec = ws.spec(
        {"provider": "openai", "baseUrl": model.url, "model": "qwen3-8b", "contextWindow": WINDOW, "maxTokens": 1024},
        tools=[tool("lookup_order")],
    )
    res = run_cli("run", "--agent", str(spec), "--task", "Look order 1042 up", "--state", str(ws.state), "--json", env=ws.env)
    assert res.rc == 0, res.stderr
    assert res.json["status"] == "succeeded"
    assert model.count == 9
    for body in model.requests:  # estimated at 3 characters per token, with the 10% margin
        chars = len(json.dumps(body["messages"])) + len(json.dumps(body["tools"]))
        assert chars / 3 + body["max_tokens"] <= WINDOW
    last = model.requests[-1]["messages"]
    assert last[1]["content"].startswith("Look order 1042 up")  # the task stays
    assert "earlier messages of this task were removed" in last[1]["content"]
    ids = [c["id"] for m in last if m["role"] == "assistant" for c in m.get("tool_calls") or []]
    assert ids == [m["tool_call_id"] for m in last if m["role"] == "tool"]  # never a call without its result

    compacted = [line["data"] for line in ws.audit_lines() if line["kind"] == "context_compacted"]
    assert compacted and compacted[0]["window"] == WINDOW and compacted[0]["counted"] == "estimate"
    with sqlite3.connect(ws.state / "airlock.db") as db:
        stored = [json.loads(b) for (b,) in db.execute("SELECT body FROM messages ORDER BY idx")]
    assert [m["compaction"] for m in stored if m["role"] == "context"] == compacted
    assert sum(1 for m in stored if m["role"] == "assistant") == 9  # the stored history is whole


def test_a_task_that_cannot_fit_fails_without_calling_the_model(ws, serve):
    model = serve("openai", [final("never")], model="qwen3-8b")
    spec = ws.spec({"provider": "openai", "baseUrl": model.url, "model": "qwen3-8b", "contextWindow": 512})
    res = run_cli("run", "--agent", str(spec), "--task", "word " * 2000, "--state", str(ws.state), "--json", env=ws.env)
    out = res.json
    assert out["status"] == "failed" and "context window of 512 tokens" in out["error"]
    assert model.count == 0
