"""The canary: one secret value fed in through every channel a user, a model or a tool
controls never appears in the state directory, the audit log, the OTLP exports (to a
collector on loopback) or the terminal. Findings 8-10 each have their own test below too."""

from __future__ import annotations

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from runtime_testkit import HttpReply, everything_written, run_cli, tool

CANARY = "canary-7f3e9a1b2c4d5e6f"
HERE = Path(__file__).parent


class Collector:
    """An OTLP/HTTP receiver on 127.0.0.1: keeps every exported body (protobuf carries
    strings as raw UTF-8, so a leaked value shows up as bytes)."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, bytes]] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                collector.bodies.append((self.path, body))
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def collector():
    c = Collector()
    yield c
    c.close()


def _model_turn(body: dict) -> HttpReply:
    """Turn 0: the model (or a hostile server) puts the canary in every field it controls."""
    return HttpReply(
        200,
        {
            "id": f"resp-{CANARY}",
            "object": "chat.completion",
            "model": f"model-{CANARY}",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {
                        "role": "assistant",
                        "content": f"model text {CANARY}",
                        "tool_calls": [
                            {"id": f"id-{CANARY}", "type": "function", "function": {"name": "noisy", "arguments": "{}"}},
                            {"id": "c2", "type": "function", "function": {"name": "boom", "arguments": "{}"}},
                            {"id": "c3", "type": "function", "function": {"name": f"tool-{CANARY}", "arguments": "{}"}},
                            {"id": "c4", "type": "function", "function": {"name": "ship", "arguments": json.dumps({"note": CANARY})}},
                        ],
                    },
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        },
    )


def _final(body: dict) -> HttpReply:
    return HttpReply(
        200,
        {
            "id": f"resp2-{CANARY}",
            "model": f"model-{CANARY}",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": f"done {CANARY}"}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5},
        },
    )


def test_canary_never_leaves_through_any_channel(ws, serve, collector) -> None:
    shutil.copy(HERE / "canary_tools.py", ws.root / "tools.py")
    # The server also fails once with the canary in its error body (an exception's text).
    model = serve("openai", [_model_turn, _final], before=[HttpReply(500, {"error": f"upstream {CANARY}"})])
    spec = ws.spec(
        model,
        tools=[
            tool("noisy", secrets=["canary"]),
            tool("boom", secrets=["canary"]),
            tool("ship", "ask"),
        ],
        secrets=[{"name": "canary", "from": "env:CANARY_SECRET"}],
    )
    env = {
        **ws.env,
        "CANARY_SECRET": CANARY,
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    first = run_cli("run", "--agent", str(spec), "--task", f"task text {CANARY}", "--state", str(ws.state), "--json", env=env)
    assert first.rc == 0, first.stderr
    parked = json.loads(first.stdout.splitlines()[-1])
    assert parked["status"] == "waiting_approval", parked
    human = run_cli("approvals", "list", "--state", str(ws.state), env=env)
    decided = run_cli(
        "approvals", "decide", parked["pending_approval"]["id"], "deny", "--reason", f"approval reason {CANARY}",
        "--state", str(ws.state), env=env,
    )
    assert decided.rc == 0, decided.stderr
    second = run_cli("resume", parked["task_id"], "--state", str(ws.state), env=env)
    assert second.rc == 0, second.stderr
    status = run_cli("status", parked["task_id"], "--state", str(ws.state), "--json", env=env)

    # Every channel was really exercised: the tools ran and printed, spans and metrics went out.
    assert "tool stdout [REDACTED:canary]" in first.stdout + first.stderr
    assert "tool log [REDACTED:canary]" in first.stderr
    assert "tool stderr [REDACTED:canary]" in first.stderr
    assert "[REDACTED:canary]" in status.stdout
    paths = {path for path, _ in collector.bodies}
    assert "/v1/traces" in paths and "/v1/metrics" in paths
    exported = b"".join(body for _, body in collector.bodies)
    assert b"[REDACTED:canary]" in exported  # captured content was exported, redacted

    written = everything_written(ws, model, first, human, decided, second, status)
    assert CANARY not in written
    assert CANARY.encode() not in exported
    assert (ws.state / "audit" / "audit.jsonl").exists()
    assert run_cli("audit", "verify", "--state", str(ws.state)).rc == 0


def test_model_metadata_is_redacted_before_it_is_stored(ws, serve) -> None:
    """Finding 8 on its own: ids and names from the model, in the audit log and SQLite."""
    shutil.copy(HERE / "canary_tools.py", ws.root / "tools.py")
    model = serve("openai", [_model_turn, _final])
    spec = ws.spec(model, tools=[tool("noisy", secrets=["canary"]), tool("boom", secrets=["canary"]), tool("ship")],
                   secrets=[{"name": "canary", "from": "env:CANARY_SECRET"}])
    res = run_cli("run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), "--json", env={**ws.env, "CANARY_SECRET": CANARY})
    assert res.rc == 0, res.stderr
    records = ws.audit_lines()
    model_call = next(r for r in records if r["kind"] == "model_call")
    assert model_call["data"]["response_id"] == "resp-[REDACTED:canary]"
    assert {"id": "c3", "name": "tool-[REDACTED:canary]"} in model_call["data"]["tool_calls"]
    assert CANARY not in json.dumps(records)
    import sqlite3

    with sqlite3.connect(ws.state / "airlock.db") as db:
        dump = "\n".join(db.iterdump())
    assert CANARY not in dump


def _call(name: str, arguments: dict, call_id: str):
    def turn(body: dict) -> HttpReply:
        return HttpReply(200, {"id": "r", "model": "m", "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "", "tool_calls": [{"id": call_id, "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)}}]}}], "usage": {}})
    return turn


def test_rotated_secret_stays_redacted(ws, serve) -> None:
    """Finding 10: run with value A, rotate to B, resume; a tool then comes across A again
    (an old config file still holding it)."""
    shutil.copy(HERE / "canary_tools.py", ws.root / "tools.py")
    old, new = "old-value-0a1b2c3d4e5f", "new-value-9z8y7x6w5v"
    conf = ws.root / "old.conf"
    conf.write_text(f"api_key = {old}\n")
    model = serve("openai", [_call("ship", {"note": "x"}, "s1"), _call("read_conf", {"path": str(conf)}, "s2"), _final])
    spec = ws.spec(model, tools=[tool("ship", "ask"), tool("read_conf")], secrets=[{"name": "canary", "from": "env:CANARY_SECRET"}])
    first = run_cli("run", "--agent", str(spec), "--task", "t", "--state", str(ws.state), "--json", env={**ws.env, "CANARY_SECRET": old})
    parked = json.loads(first.stdout.splitlines()[-1])
    decided = run_cli("approvals", "decide", parked["pending_approval"]["id"], "approve", "--reason", f"ok {old}",
                      "--state", str(ws.state))
    assert decided.rc == 0, decided.stderr
    # Rotated: the new process knows only `new`; the recorded fingerprint still finds `old`.
    second = run_cli("resume", parked["task_id"], "--state", str(ws.state), env={**ws.env, "CANARY_SECRET": new})
    assert second.rc == 0, second.stderr
    conf_result = model.tool_results(-1)[-1]
    assert conf_result["content"] == "api_key = [REDACTED:canary (earlier value)]\n"
    written = everything_written(ws, model, first, decided, second)
    assert old not in written and new not in written
    fingerprints = (ws.state / "secret-fingerprints.json").read_text()
    assert old not in fingerprints and new not in fingerprints
