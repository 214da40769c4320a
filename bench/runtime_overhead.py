"""Orchestration overhead: Airlock's loop vs LangGraph on the same scripted task.

The task: N steps, each a model turn that calls one tool, then a final answer. The model
is scripted in-process (zero latency, no HTTP) so only orchestration is measured:

- Airlock: ``runtime.loop.Runner`` with its SQLite store (a checkpoint after every model
  response and tool result, the idempotency-ledger intent and result, policy and budget
  checks, the kill-switch check and the hash-chained audit log).
- LangGraph: a ``StateGraph(MessagesState)`` with an agent node and the prebuilt
  ``ToolNode``, compiled with ``SqliteSaver`` (langgraph-checkpoint-sqlite).

Both use SQLite in WAL mode with its default ``synchronous=FULL``, on the same temporary
directory. Setup (opening databases, compiling the graph, loading the agent) is outside
the timed region; each repeat uses a fresh database. Prints both medians and the ratio.

    python bench/runtime_overhead.py [--steps 50] [--repeats 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing


def lookup_order(order_id: int) -> dict[str, Any]:
    """Look an order up.

    Args:
        order_id: The order number.
    """
    return {"order_id": order_id, "status": "delivered", "amount_paid": 59.9}


# --------------------------------------------------------------------------- Airlock


class ScriptedClient:
    """An in-process model: a tool call per turn until `steps`, then a final answer."""

    route_name = "default"
    provider_name = "vllm"
    model = "scripted"
    server_address = None
    server_port = None

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def complete(self, request: Any) -> Any:
        from runtime.models.base import ModelResponse, RequestUsage, ToolCall

        turn = sum(1 for m in request.messages if m["role"] == "assistant")
        if turn < self.steps:
            call = ToolCall(id=f"call_{turn}", name="lookup_order", arguments=json.dumps({"order_id": turn}))
            return ModelResponse(text="", tool_calls=(call,), usage=RequestUsage(100, 20), finish_reason="tool_calls")
        return ModelResponse(text="All done.", tool_calls=(), usage=RequestUsage(100, 20), finish_reason="stop")

    def close(self) -> None:
        pass


def airlock_once(steps: int, workdir: Path) -> float:
    from runtime.agent import load_agent
    from runtime.audit import AuditLog
    from runtime.loop import Runner
    from runtime.router import Router
    from runtime.spec import parse_spec
    from runtime.store import Store

    spec = f"""
name: bench
instructions: Look orders up.
models:
  default: {{provider: openai, baseUrl: "http://localhost:1/v1", model: scripted}}
tools:
  - {{name: lookup_order, kind: python, target: "runtime_overhead:lookup_order", policy: allow}}
budgets: {{maxSteps: {steps + 1}}}
"""
    agent = load_agent(
        parse_spec(spec, source="bench", base_dir=HERE), router=Router({"default": ScriptedClient(steps)})
    )
    store = Store(workdir, create=True)
    audit = AuditLog(workdir / "audit")
    runner = Runner(agent, store, audit)
    try:
        start = time.perf_counter()
        outcome = runner.start("Look up the orders.")
        elapsed = time.perf_counter() - start
    finally:
        audit.close()
        store.close()
    assert outcome.status == "succeeded" and outcome.usage.model_calls == steps + 1, outcome
    return elapsed


# --------------------------------------------------------------------------- LangGraph


def langgraph_once(steps: int, workdir: Path) -> float:
    from langchain_core.messages import AIMessage, HumanMessage
    from langchain_core.tools import tool
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.graph import START, MessagesState, StateGraph
    from langgraph.prebuilt import ToolNode, tools_condition

    lookup = tool(lookup_order)

    def agent(state: MessagesState) -> dict[str, Any]:
        turn = sum(1 for m in state["messages"] if isinstance(m, AIMessage))
        usage = {"input_tokens": 100, "output_tokens": 20, "total_tokens": 120}
        if turn < steps:
            call = {"name": "lookup_order", "args": {"order_id": turn}, "id": f"call_{turn}", "type": "tool_call"}
            return {"messages": [AIMessage(content="", tool_calls=[call], usage_metadata=usage)]}
        return {"messages": [AIMessage(content="All done.", usage_metadata=usage)]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode([lookup]))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    conn = sqlite3.connect(workdir / "langgraph.db", check_same_thread=False)
    try:
        app = graph.compile(checkpointer=SqliteSaver(conn))
        config = {"configurable": {"thread_id": "bench"}, "recursion_limit": 2 * steps + 10}
        start = time.perf_counter()
        result = app.invoke({"messages": [HumanMessage("Look up the orders.")]}, config)
        elapsed = time.perf_counter() - start
    finally:
        conn.close()
    assert result["messages"][-1].content == "All done.", result["messages"][-1]
    return elapsed


# --------------------------------------------------------------------------- main


def timed(fn: Callable[[int, Path], float], steps: int, workdir: Path) -> float:
    workdir.mkdir()
    return fn(steps, workdir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="airlock-bench-") as tmp:
        root = Path(tmp)
        # One untimed warm-up each: imports, pydantic schema building, first SQLite open.
        timed(airlock_once, 2, root / "warm-airlock")
        timed(langgraph_once, 2, root / "warm-langgraph")
        airlock: list[float] = []
        langgraph: list[float] = []
        for i in range(args.repeats):  # interleaved, so drifting machine load hits both alike
            airlock.append(timed(airlock_once, args.steps, root / f"airlock-{i}"))
            langgraph.append(timed(langgraph_once, args.steps, root / f"langgraph-{i}"))

    a, lg = statistics.median(airlock), statistics.median(langgraph)
    result = {
        "steps": args.steps,
        "repeats": args.repeats,
        "airlock_median_s": round(a, 6),
        "langgraph_median_s": round(lg, 6),
        "ratio_airlock_over_langgraph": round(a / lg, 3),
        "cpus": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.steps}-step tool-calling task, zero model latency, {args.repeats} repeats (medians)")
        print(
            f"  airlock   (SQLite checkpoints, ledger, audit chain): {a * 1000:8.2f} ms  ({a / max(args.steps, 1) * 1000:.3f} ms/step)"
        )
        print(
            f"  langgraph (SqliteSaver checkpointer)               : {lg * 1000:8.2f} ms  ({lg / max(args.steps, 1) * 1000:.3f} ms/step)"
        )
        print(f"  ratio airlock/langgraph: {a / lg:.3f}   (load average {result['loadavg']}, {result['cpus']} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
