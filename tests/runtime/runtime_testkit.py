"""Test helpers: scripted OpenAI/Anthropic-compatible servers on 127.0.0.1 and a CLI driver.

The servers are real HTTP servers (stdlib ThreadingHTTPServer). A scenario scripts the
model by *turn*: the number of assistant messages in the incoming request, so a request
repeated after a crash gets the same answer as the lost one. Every request is counted
and kept, so tests assert exactly how many model calls happened and what the model saw.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
AIRLOCK = str(Path(sys.executable).parent / "airlock-runtime")
TOOLS_SOURCE = HERE / "airlock_test_tools.py"


# --------------------------------------------------------------------------- model turns


@dataclass
class Call:
    name: str
    args: dict[str, Any] | str
    id: str | None = None


@dataclass
class Turn:
    """What the scripted model answers: text, tool calls, token usage."""

    text: str = ""
    calls: Sequence[Call] = ()
    usage: tuple[int, int] = (100, 20)


@dataclass
class HttpReply:
    """A raw HTTP answer (errors, rate limits)."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


DROP = object()  # hook return value: close the connection without answering


def final(text: str, usage: tuple[int, int] = (100, 20)) -> Turn:
    return Turn(text=text, usage=usage)


def calls(*items: Call, text: str = "", usage: tuple[int, int] = (100, 20)) -> Turn:
    return Turn(text=text, calls=items, usage=usage)


class ScriptedModelServer:
    def __init__(
        self,
        flavor: str,
        turns: Sequence[Turn | Callable[[dict[str, Any]], Turn | HttpReply]] = (),
        *,
        before: Sequence[HttpReply] = (),
        model: str = "test-model",
    ) -> None:
        assert flavor in ("openai", "anthropic")
        self.flavor = flavor
        self.turns = list(turns)
        self.before = list(before)
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        self.on_request: Callable[[int, dict[str, Any]], Any] | None = None
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.endswith("/tokenize"):  # not a model call: a server that cannot count
                    self.send_error(404)
                    return
                with server._lock:
                    server.requests.append(body)
                    server.headers.append({k.lower(): v for k, v in self.headers.items()})
                    server.paths.append(self.path)
                    n = len(server.requests)
                    early = server.before.pop(0) if server.before else None
                if server.on_request is not None and server.on_request(n, body) is DROP:
                    self.close_connection = True
                    return
                reply: Turn | HttpReply = early if early is not None else server.reply_for(body)
                if isinstance(reply, HttpReply):
                    status, payload, headers = reply.status, reply.body, reply.headers
                else:
                    # Like a real server, never produce more output tokens than max_tokens.
                    cap = int(body.get("max_tokens") or reply.usage[1])
                    truncated = reply.usage[1] > cap
                    reply = Turn(reply.text, reply.calls, (reply.usage[0], min(reply.usage[1], cap)))
                    status, payload, headers = 200, server.render(reply, n, truncated), {}
                data = json.dumps(payload if payload is not None else {"error": "scripted"}).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        base = f"http://127.0.0.1:{self.port}"
        return base + "/v1" if self.flavor == "openai" else base

    @property
    def count(self) -> int:
        return len(self.requests)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- scripting

    def turn_of(self, body: dict[str, Any]) -> int:
        return sum(1 for m in body.get("messages", []) if m.get("role") == "assistant")

    def reply_for(self, body: dict[str, Any]) -> Turn | HttpReply:
        turn = self.turn_of(body)
        if turn >= len(self.turns):
            return HttpReply(500, {"error": f"script has no turn {turn}"})
        item = self.turns[turn]
        return item(body) if callable(item) else item

    def render(self, turn: Turn, n: int, truncated: bool = False) -> dict[str, Any]:
        call_ids = [c.id or f"call_{n}_{i}" for i, c in enumerate(turn.calls)]
        if self.flavor == "openai":
            message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
            if turn.calls:
                message["tool_calls"] = [
                    {
                        "id": cid,
                        "type": "function",
                        "function": {
                            "name": c.name,
                            "arguments": c.args if isinstance(c.args, str) else json.dumps(c.args),
                        },
                    }
                    for cid, c in zip(call_ids, turn.calls, strict=True)
                ]
            return {
                "id": f"chatcmpl-{n}",
                "object": "chat.completion",
                "model": self.model,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "length" if truncated else ("tool_calls" if turn.calls else "stop"),
                    }
                ],
                "usage": {
                    "prompt_tokens": turn.usage[0],
                    "completion_tokens": turn.usage[1],
                    "total_tokens": sum(turn.usage),
                },
            }
        content: list[dict[str, Any]] = []
        if turn.text:
            content.append({"type": "text", "text": turn.text})
        for cid, c in zip(call_ids, turn.calls, strict=True):
            content.append({"type": "tool_use", "id": cid.replace("call_", "toolu_"), "name": c.name, "input": c.args})
        return {
            "id": f"msg_{n}",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": "max_tokens" if truncated else ("tool_use" if turn.calls else "end_turn"),
            "usage": {"input_tokens": turn.usage[0], "output_tokens": turn.usage[1]},
        }

    # -- what the model saw

    def tool_results(self, index: int = -1) -> list[dict[str, Any]]:
        """Tool results in request `index`: [{id, content, is_error}] in order."""
        body = self.requests[index]
        out = []
        for m in body.get("messages", []):
            if self.flavor == "openai" and m.get("role") == "tool":
                out.append(
                    {"id": m["tool_call_id"], "content": m["content"], "is_error": m["content"].startswith("error:")}
                )
            if self.flavor == "anthropic" and m.get("role") == "user" and isinstance(m.get("content"), list):
                for block in m["content"]:
                    if block.get("type") == "tool_result":
                        out.append(
                            {
                                "id": block["tool_use_id"],
                                "content": block["content"],
                                "is_error": block.get("is_error", False),
                            }
                        )
        return out


# --------------------------------------------------------------------------- workspace


class Workspace:
    """A temp directory holding an agent spec, its tools module and a state directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.state = root / "state"
        self.effects = root / "effects"
        self.effects.mkdir()
        shutil.copy(TOOLS_SOURCE, root / "tools.py")
        self.env: dict[str, str] = {"AIRLOCK_TEST_EFFECTS": str(self.effects)}

    def spec(
        self,
        default: ScriptedModelServer | dict[str, Any],
        *,
        planner: ScriptedModelServer | dict[str, Any] | None = None,
        tools: Sequence[dict[str, Any]] | None = None,
        name: str = "refunds",
        filename: str = "agent.yaml",
        **extra: Any,
    ) -> Path:
        def route(r: ScriptedModelServer | dict[str, Any]) -> dict[str, Any]:
            if isinstance(r, dict):
                return r
            return {
                "provider": r.flavor,
                "baseUrl": r.url,
                "model": r.model,
                "retryBackoffSeconds": 0.01,
                "timeoutSeconds": 30,
            }

        doc: dict[str, Any] = {
            "name": name,
            "instructions": "You handle refunds. Use the tools.",
            "models": {"default": route(default)},
            "tools": list(tools) if tools is not None else [tool("lookup_order"), tool("issue_refund")],
        }
        if planner is not None:
            doc["models"]["planner"] = route(planner)
        doc.update(extra)
        path = self.root / filename
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    def attempts(self) -> list[str]:
        """Idempotency keys of every execution of issue_refund, in order."""
        path = self.effects / "attempts.log"
        return path.read_text().split() if path.exists() else []

    def effects_done(self) -> list[str]:
        """Side effects actually applied (the tool de-duplicates by idempotency key)."""
        path = self.effects / "effects.log"
        return path.read_text().split() if path.exists() else []

    def arm(self, marker: str) -> None:
        """Make the next issue_refund SIGKILL its own process at `marker`."""
        (self.effects / marker).write_text("1")

    def audit_lines(self) -> list[dict[str, Any]]:
        path = self.state / "audit" / "audit.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def everything_written(ws: Workspace, model: ScriptedModelServer, *results: Result) -> str:
    """All bytes the runtime produced: what the model got, the state, the audit log, the terminal."""
    chunks = [json.dumps(model.requests)]
    for res in results:
        chunks += [res.stdout, res.stderr]
    for path in ws.state.rglob("*"):
        if path.is_file():
            chunks.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(chunks)


def tool(name: str, policy: str = "allow", **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": "python", "target": f"tools:{name}", "policy": policy, **extra}


# --------------------------------------------------------------------------- CLI


@dataclass
class Result:
    rc: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict[str, Any]:
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        assert lines, f"no stdout; stderr: {self.stderr}"
        return json.loads(lines[-1])


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AIRLOCK_", "AWS_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
    proc = subprocess.run([AIRLOCK, *args], capture_output=True, text=True, env=cli_env(env), timeout=timeout)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def start_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [AIRLOCK, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(env)
    )


def kill_when(server: ScriptedModelServer, request_number: int, holder: dict[str, Any]) -> None:
    """SIGKILL the client process (holder['proc']) when it sends request `request_number`."""

    def hook(n: int, body: dict[str, Any]) -> Any:
        if n == request_number:
            proc = holder["proc"]
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return DROP
        return None

    server.on_request = hook


def wait_killed(proc: subprocess.Popen[str], timeout: float = 60) -> None:
    """Wait for a process the test (or the process itself) SIGKILLed."""
    proc.wait(timeout=timeout)
    assert proc.returncode == -signal.SIGKILL, (
        f"expected SIGKILL, got {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}"
    )


class WebhookServer:
    """Receives approval notifications (or any JSON POST) on 127.0.0.1."""

    def __init__(self, status: int = 200) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = status
        self.on_request: Callable[[int, bytes], Any] | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                server.received.append({"path": self.path, "body": raw, "headers": dict(self.headers)})
                if server.on_request is not None and server.on_request(len(server.received), raw) is DROP:
                    self.close_connection = True
                    return
                self.send_response(server.status)
                self.send_header("content-length", "0")
                self.end_headers()

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/hooks/airlock"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
