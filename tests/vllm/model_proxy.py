"""A loopback recorder between the runtime and vLLM: forwards every request unchanged,
except that it can force the next chat completions to call a named tool (a random-weights
model never writes a tool call on its own), and keeps what was asked and answered."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


@dataclass
class Exchange:
    method: str
    path: str
    request: Any
    status: int
    response: Any


class ModelProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.exchanges: list[Exchange] = []
        self.force: list[str] = []  # tool names, one per coming chat completion
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self, method: str) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                if method == "POST" and self.path.endswith("/chat/completions"):
                    with proxy._lock:
                        forced = proxy.force.pop(0) if proxy.force else None
                    if forced:
                        body["tool_choice"] = {"type": "function", "function": {"name": forced}}
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
                reply = httpx.request(method, proxy.upstream + self.path, json=body, headers=headers, timeout=600)
                try:
                    answer: Any = reply.json()
                except ValueError:
                    answer = reply.text
                with proxy._lock:
                    proxy.exchanges.append(Exchange(method, self.path, body, reply.status_code, answer))
                data = reply.content
                self.send_response(reply.status_code)
                self.send_header("content-type", reply.headers.get("content-type", "application/json"))
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                self._forward("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._forward("POST")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def chats(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.path.endswith("/chat/completions")]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
