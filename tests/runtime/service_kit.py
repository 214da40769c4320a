"""Driving `airlock-runtime serve` in tests: a real process on a free loopback port."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from runtime_testkit import AIRLOCK, cli_env

LISTENING = re.compile(r"listening on http://([\d.]+):(\d+)")


def make_token(path: Path, name: str, roles: str) -> str:
    proc = subprocess.run(
        [AIRLOCK, "token", "create", "--name", name, "--roles", roles, "--file", str(path)],
        capture_output=True, text=True, env=cli_env(), timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@dataclass
class Service:
    proc: subprocess.Popen[str]
    url: str
    log_path: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 90) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)


def start_service(
    state: Path,
    spec: Path | None,
    *,
    tokens_file: Path | None,
    env: dict[str, str] | None = None,
    extra: tuple[str, ...] = (),
    concurrency: int = 2,
    wait_ready: bool = True,
    log_name: str = "serve.log",
) -> Service:
    args = [AIRLOCK, "serve", "--state", str(state), "--host", "127.0.0.1", "--port", "0", "--concurrency", str(concurrency)]
    if spec is not None:
        args += ["--agent", str(spec)]
    if tokens_file is not None:
        args += ["--tokens-file", str(tokens_file)]
    args += list(extra)
    log_path = state.parent / log_name
    log = open(log_path, "w")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, text=True, env=cli_env(env))
    url = wait_listening(proc, log_path)
    service = Service(proc, url, log_path)
    if wait_ready:
        wait_for(lambda: httpx.get(url + "/readyz", timeout=5).status_code == 200, proc, log_path, "ready")
    return service


def wait_listening(proc: subprocess.Popen[str], log_path: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = LISTENING.search(log_path.read_text())
        if match:
            return f"http://{match.group(1)}:{match.group(2)}"
        if proc.poll() is not None:
            raise AssertionError(f"serve exited with {proc.returncode}: {log_path.read_text()}")
        time.sleep(0.05)
    raise AssertionError(f"serve did not start listening: {log_path.read_text()}")


def wait_for(check: Any, proc: subprocess.Popen[str] | None, log_path: Path | None, what: str, timeout: float = 120) -> None:
    """Poll until check() is true (a state, never a duration, is what the test waits for)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (httpx.HTTPError, OSError) as exc:
            last = exc
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"serve exited with {proc.returncode} while waiting for {what}: {log_path.read_text() if log_path else ''}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what} ({last}); log: {log_path.read_text() if log_path else ''}")


def wait_status(client: httpx.Client, task_id: str, statuses: set[str], timeout: float = 120) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def check() -> bool:
        found.update(client.get(f"/v1/tasks/{task_id}").json())
        return found.get("status") in statuses

    wait_for(check, None, None, f"task {task_id} in {statuses}", timeout)
    return found


def sse_events(text: str) -> list[dict[str, Any]]:
    import json

    events = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith(":") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        if "event" in fields:
            events.append({"id": int(fields["id"]), "event": fields["event"], "data": json.loads(fields["data"])})
    return events


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def events_until(client: httpx.Client, task_id: str, kind: str, after: int = 0) -> list[dict[str, Any]]:
    """Read the task's event stream until an event of `kind` arrives (streams of waiting tasks stay open)."""
    seen: list[dict[str, Any]] = []
    buffer = ""
    headers = {"Last-Event-ID": str(after)} if after else {}
    with client.stream("GET", f"/v1/tasks/{task_id}/events", headers=headers) as response:
        for chunk in response.iter_text():
            buffer += chunk
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                seen += sse_events(block + "\n\n")
                if any(e["event"] == kind for e in seen):
                    return seen
    return seen
