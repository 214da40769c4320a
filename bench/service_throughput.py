"""Service throughput: `airlock-runtime serve` vs LangGraph's API server (`langgraph dev`).

The workload: TASKS tasks of STEPS tool steps each (a model turn calling one tool, then a
final answer), against one scripted OpenAI-compatible model server on loopback with zero
latency. Both sides run the same tool and reach the model over HTTP.

- Airlock: 1 and 2 `serve` processes on one state directory (concurrency 8 each); tasks via
  `POST /v1/tasks`. Per step it persists, with `synchronous=FULL`: a checkpoint after the
  model response (with the ledger intent) and after the tool result (with the ledger result),
  hash-chained audit records (fsync-free appends), the task's events (SSE) and lease
  renewals.
- LangGraph: `langgraph dev` (langgraph-cli[inmem], its in-memory runtime, 10 jobs per
  worker by default) running a StateGraph agent/tool loop; tasks as background runs on new
  threads. Per step it keeps checkpoints in memory (flushed to disk in the background).

Latency is each task's own server-side time from creation to completion (Airlock:
`created_at`/`updated_at` of the task; LangGraph: of the run); throughput is tasks divided
by the span from the first creation to the last completion. Prints a table and the ratio.

    python bench/service_throughput.py [--tasks 500] [--steps 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

BIN = Path(sys.executable).parent
TOOL_SOURCE = '''
def step(n: int) -> str:
    """Do step n.

    Args:
        n: The step number.
    """
    return f"step {n} done"
'''


class ScriptedModel:
    """OpenAI chat completions: a call to `step` per turn until `steps`, then a final answer."""

    def __init__(self, steps: int) -> None:
        model = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                done = sum(1 for m in body.get("messages", []) if m.get("role") == "tool")
                if done < steps:
                    message = {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [{"id": f"call_{done}", "type": "function", "function": {"name": "step", "arguments": json.dumps({"n": done})}}],
                    }
                    finish = "tool_calls"
                else:
                    message, finish = {"role": "assistant", "content": "all steps done"}, "stop"
                data = json.dumps({
                    "id": "x", "object": "chat.completion", "model": "scripted",
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                }).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()


def ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def summarize(name: str, spans: list[tuple[float, float]]) -> dict[str, Any]:
    latencies = sorted(end - start for start, end in spans)
    total = max(e for _, e in spans) - min(s for s, _ in spans)
    return {
        "name": name,
        "tasks": len(spans),
        "tasks_per_s": len(spans) / total,
        "p50_s": statistics.median(latencies),
        "p99_s": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


def submit_all(url: str, count: int, submit: Any) -> list[Any]:
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(submit, range(count)))


# --------------------------------------------------------------------------- Airlock


def run_airlock(model: ScriptedModel, tasks: int, processes: int, work: Path) -> dict[str, Any]:
    root = work / f"airlock-{processes}"
    root.mkdir()
    (root / "tools.py").write_text(TOOL_SOURCE)
    (root / "agent.yaml").write_text(textwrap.dedent(f"""\
        name: bench
        instructions: Do the steps.
        models:
          default: {{provider: openai, baseUrl: "{model.url}", model: scripted, retryBackoffSeconds: 0.01}}
        tools:
          - {{name: step, kind: python, target: "tools:step", policy: allow}}
        budgets: {{maxSteps: 100}}
        """))
    token = subprocess.run(
        [str(BIN / "airlock-runtime"), "token", "create", "--name", "bench", "--roles", "submit", "--file", str(root / "tokens")],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRLOCK_", "OTEL_"))}
    procs, urls = [], []
    for i in range(processes):
        log = open(root / f"serve-{i}.log", "w")
        proc = subprocess.Popen(
            [str(BIN / "airlock-runtime"), "serve", "--state", str(root / "state"), "--agent", str(root / "agent.yaml"),
             "--host", "127.0.0.1", "--port", "0", "--concurrency", "8", "--tokens-file", str(root / "tokens")],
            stdout=log, stderr=subprocess.STDOUT, env={**env, "AIRLOCK_LOG_LEVEL": "warning"},
        )
        procs.append(proc)
        while not (m := re.search(r"listening on (http://[\d.:]+)", (root / f"serve-{i}.log").read_text())):
            time.sleep(0.05)
        urls.append(m.group(1))
        while httpx.get(urls[-1] + "/readyz").status_code != 200:
            time.sleep(0.05)
    try:
        clients = [httpx.Client(base_url=u, headers={"authorization": f"Bearer {token}"}, timeout=60) for u in urls]
        submit_all(urls[0], tasks, lambda i: clients[i % len(clients)].post("/v1/tasks", json={"task": f"task {i}"}).raise_for_status())
        while True:
            metrics = httpx.get(urls[0] + "/metrics").text
            m = re.search(r'^airlock_tasks\{status="succeeded"\} ([\d.]+)', metrics, re.M)
            if m and int(float(m.group(1))) >= tasks:
                break
            time.sleep(0.2)
        spans, cursor = [], None
        while True:
            page = clients[0].get("/v1/tasks", params={"limit": 200, **({"cursor": cursor} if cursor else {})}).json()
            spans += [(ts(t["created_at"]), ts(t["updated_at"])) for t in page["tasks"] if t["status"] == "succeeded"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        return summarize(f"Airlock serve x{processes}", spans)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=90)


# --------------------------------------------------------------------------- LangGraph

GRAPH_SOURCE = '''
import json
import httpx
from typing import Annotated, TypedDict
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

MODEL_URL = {model_url!r}
_client = httpx.Client(timeout=60)


def step(n: int) -> str:
    return f"step {{n}} done"


class State(TypedDict):
    messages: list


def agent(state: State) -> dict:
    response = _client.post(MODEL_URL + "/chat/completions", json={{"model": "scripted", "messages": state["messages"]}})
    message = response.json()["choices"][0]["message"]
    return {{"messages": state["messages"] + [message]}}


def tools(state: State) -> dict:
    last = state["messages"][-1]
    results = []
    for call in last.get("tool_calls") or []:
        args = json.loads(call["function"]["arguments"])
        results.append({{"role": "tool", "tool_call_id": call["id"], "content": step(**args)}})
    return {{"messages": state["messages"] + results}}


def route(state: State) -> str:
    return "tools" if state["messages"][-1].get("tool_calls") else END


builder = StateGraph(State)
builder.add_node("agent", agent)
builder.add_node("tools", tools)
builder.add_edge(START, "agent")
builder.add_conditional_edges("agent", route, ["tools", END])
builder.add_edge("tools", "agent")
graph = builder.compile()
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_langgraph(model: ScriptedModel, tasks: int, work: Path) -> dict[str, Any]:
    root = work / "langgraph"
    root.mkdir()
    (root / "graph.py").write_text(GRAPH_SOURCE.format(model_url=model.url))
    (root / "langgraph.json").write_text(json.dumps({"dependencies": ["."], "graphs": {"agent": "./graph.py:graph"}}))
    port = free_port()
    env = {**os.environ, "LANGSMITH_TRACING": "false", "LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGSMITH_API_KEY": "", "PYTHONUNBUFFERED": "1"}
    log = open(root / "server.log", "w")
    proc = subprocess.Popen(
        [str(BIN / "langgraph"), "dev", "--port", str(port), "--no-browser", "--no-reload", "--allow-blocking",
         "--config", str(root / "langgraph.json"), "--server-log-level", "warning"],
        cwd=root, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(url + "/ok", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("langgraph dev did not start: " + (root / "server.log").read_text()[-2000:])
            time.sleep(0.2)
        client = httpx.Client(base_url=url, timeout=120)

        def submit(i: int) -> tuple[str, str]:
            thread = client.post("/threads", json={}).json()["thread_id"]
            run = client.post(f"/threads/{thread}/runs", json={
                "assistant_id": "agent", "input": {"messages": [{"role": "user", "content": f"task {i}"}]},
            }).json()
            return thread, run["run_id"]

        runs = submit_all(url, tasks, submit)
        spans = []
        for thread, run_id in runs:
            client.get(f"/threads/{thread}/runs/{run_id}/join")
            run = client.get(f"/threads/{thread}/runs/{run_id}").json()
            if run["status"] != "success":
                raise RuntimeError(f"langgraph run {run_id}: {run['status']}")
            spans.append((ts(run["created_at"]), ts(run["updated_at"])))
        return summarize("LangGraph dev (inmem)", spans)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    model = ScriptedModel(args.steps)
    work = Path(tempfile.mkdtemp(prefix="airlock-bench-"))
    try:
        results = [run_airlock(model, args.tasks, 1, work), run_airlock(model, args.tasks, 2, work), run_langgraph(model, args.tasks, work)]
    finally:
        model.close()
        shutil.rmtree(work, ignore_errors=True)
    peer = results[-1]
    if args.json:
        print(json.dumps({"results": results, "ratio_vs_langgraph": {r["name"]: r["tasks_per_s"] / peer["tasks_per_s"] for r in results[:-1]}}))
        return 0
    print(f"{args.tasks} tasks x {args.steps} tool steps, zero-latency scripted model")
    print(f"{'':26} {'tasks/s':>9} {'p50 s':>8} {'p99 s':>8}")
    for r in results:
        print(f"{r['name']:26} {r['tasks_per_s']:9.1f} {r['p50_s']:8.2f} {r['p99_s']:8.2f}")
    for r in results[:-1]:
        print(f"{r['name']} / LangGraph throughput: {r['tasks_per_s'] / peer['tasks_per_s']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
