"""`airlock-runtime serve` in embedded mode: sandbox pools AIRLOCK_SANDBOXES does not name get
a local executor for the service's lifetime. The example refunds agent, driven by a scripted
model through serve's HTTP API, runs its run_python tool in that executor; SIGTERM leaves no
exec process and no executor work dir behind."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "runtime"))
from runtime_testkit import AIRLOCK, Call, ScriptedModelServer, calls, cli_env, final  # noqa: E402
from service_kit import Service, make_token, start_service, wait_for, wait_status  # noqa: E402

EXAMPLE = HERE.parents[1] / "examples" / "refunds"
TOTAL = "orders = {1042: 59.90, 1043: 12.00}\nprint(round(sum(orders.values()), 2))\n"
SNOOP = "import os\nprint(sorted(os.environ))\nprint(os.environ.get('PAYMENTS_KEY'))\n"
# Marks (in its own work dir, which the test can see) that it runs, then waits for a long time.
SLEEPER = "open('started', 'w').close()\nimport time\ntime.sleep(3600)\n"
AUTO = "gvisor" if shutil.which("runsc") else "netns"  # what `auto` picks on this machine


class Workspace:
    """The example agent pointed at a scripted model, a tokens file, and the service's env:
    the payments secret, the approval webhook's signing key, and a TMPDIR of its own so the
    local executor's work dir is visible to the test."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.state = root / "state"
        self.tmp = root / "tmp"
        self.tmp.mkdir()
        secrets = root / "platform-secrets"
        secrets.mkdir()
        (secrets / "approval-webhook-key").write_text("k" * 32)
        self.tokens_file = root / "tokens"
        self.token = make_token(self.tokens_file, "ci-bot", "submit")
        self.env = {
            "PAYMENTS_KEY": "pk_live_never_in_a_sandbox",
            "AIRLOCK_SECRETS_DIR": str(secrets),
            "TMPDIR": str(self.tmp),
        }
        self.servers: list[ScriptedModelServer] = []
        self.services: list[Service] = []

    def spec(self, turns: list[Any], **run_python: Any) -> Path:
        """examples/refunds/agent.yaml as shipped, but for its model routes (the scripted server)."""
        server = ScriptedModelServer("openai", turns)
        self.servers.append(server)
        doc = yaml.safe_load((EXAMPLE / "agent.yaml").read_text())
        route = {"provider": "openai", "baseUrl": server.url, "model": server.model, "retryBackoffSeconds": 0.01, "timeoutSeconds": 30}
        doc["models"] = {"default": route}
        for tool in doc["tools"]:
            if tool["name"] == "run_python":
                tool.update(run_python)
        shutil.copy(EXAMPLE / "tools.py", self.root / "tools.py")
        path = self.root / "agent.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    def serve(self, spec: Path, *extra: str, env: dict[str, str] | None = None) -> Service:
        service = start_service(self.state, spec, tokens_file=self.tokens_file, env={**self.env, **(env or {})}, extra=extra)
        self.services.append(service)
        return service

    def executor_dirs(self) -> list[Path]:
        return sorted(self.tmp.glob("airlock-sandbox-*"))

    def close(self) -> None:
        for service in self.services:
            if service.proc.poll() is None:
                service.proc.kill()
                service.proc.wait()
        for server in self.servers:
            server.close()


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed (util-linux); .ci/run installs it")
    workspace = Workspace(tmp_path)
    yield workspace
    workspace.close()


def audit_records(state: Path, kind: str) -> list[dict[str, Any]]:
    lines = (state / "audit" / "audit.jsonl").read_text().splitlines()
    return [r["data"] for r in map(json.loads, lines) if r["kind"] == kind]


def descendants(pid: int) -> set[tuple[int, str]]:
    """(pid, start time) of every process below `pid` now: the start time tells a process
    that is still alive from a new one that reused its pid."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                children.setdefault(int(stat[1]), []).append(int(entry.name))
    found: set[tuple[int, str]] = set()
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop()
        stat = _stat(child)
        if stat is not None:
            found.add((child, stat[19]))
        todo += children.get(child, [])
    return found


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name: [0] state, [1] ppid, [19] start time."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def still_running(processes: set[tuple[int, str]]) -> set[tuple[int, str]]:
    return {(pid, start) for pid, start in processes if (stat := _stat(pid)) is not None and stat[19] == start and stat[0] != "Z"}


def test_the_example_agent_runs_python_through_serve_in_its_local_executor(ws: Workspace) -> None:
    spec = ws.spec([calls(Call("run_python", {"code": TOTAL}), Call("run_python", {"code": SNOOP})), final("Orders total 71.9.")])
    service = ws.serve(spec)
    ready = service.client().get("/readyz").json()
    assert ready["ready"] is True
    assert ready["sandboxes"] == {"default": {"executor": "local", "isolation": AUTO}}
    [executor_dir] = ws.executor_dirs()  # one local executor for the service

    with service.client(ws.token) as client:
        created = client.post("/v1/tasks", json={"task": "What do orders 1042 and 1043 add up to?"})
        assert created.status_code == 201, created.text
        done = wait_status(client, created.json()["task_id"], {"succeeded", "failed"})
    assert done["status"] == "succeeded" and done["output"] == "Orders total 71.9.", done

    server = ws.servers[0]
    total, snoop = (json.loads(r["content"]) for r in server.tool_results())
    assert (total["exitCode"], total["stdout"], total["isolation"]) == (0, "71.9\n", AUTO)
    # serve holds the payments secret; the code its executor runs does not see it.
    assert snoop["stdout"].splitlines()[1] == "None" and "PAYMENTS_KEY" not in snoop["stdout"]
    records = audit_records(ws.state, "tool_result")
    assert [(r["tool"], r["kind"], r["pool"], r["isolation"], r["exit_code"]) for r in records] == [
        ("run_python", "sandbox", "default", AUTO, 0)
    ] * 2

    assert service.stop() == 0
    assert not executor_dir.exists() and ws.executor_dirs() == []


@pytest.mark.parametrize("isolation", ["netns", "gvisor"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_stopping_serve_during_an_exec_kills_it_and_leaves_nothing_behind(ws: Workspace, sig: signal.Signals, isolation: str) -> None:
    # The exec may take 300 s; the drain period is 2 s. Stopping the service (SIGTERM: after
    # the drain; SIGKILL: at once, by the exec's parent-death signal) must kill it, not leave
    # it running (nor wait for it).
    spec = ws.spec([calls(Call("run_python", {"code": SLEEPER})), final("unreachable")], timeoutSeconds=300)
    if isolation == "gvisor" and shutil.which("runsc") is None:
        pytest.skip("runsc is not installed; .ci/run installs it (Debian package runsc)")
    service = ws.serve(spec, "--sandbox-isolation", isolation, env={"AIRLOCK_DRAIN_SECONDS": "2"})
    with service.client(ws.token) as client:
        created = client.post("/v1/tasks", json={"task": "Sleep."})
        assert created.status_code == 201, created.text
    wait_for(lambda: any(ws.tmp.glob("airlock-sandbox-*/exec-*/work/started")), service.proc, service.log_path, "the exec to run")
    running = descendants(service.proc.pid)
    assert running, "the exec's processes are children of serve"

    code = service.stop(sig)
    if sig == signal.SIGTERM:
        assert code == 0, service.log()
        assert ws.executor_dirs() == []  # (a SIGKILLed process cannot remove its work dir)
        # gVisor's scratch bundle (runsc do) is not left in the host's /tmp either.
        assert [d for d in Path("/tmp").glob("runsc-do*") if str(ws.tmp) in _read(d / "config.json")] == []
    wait_for(lambda: not still_running(running), None, None, f"no process of serve's left after {sig.name}", timeout=30)


def test_asking_serve_for_gvisor_without_runsc_exits_2(ws: Workspace, tmp_path: Path) -> None:
    spec = ws.spec([final("unused")])
    bin_dir = tmp_path / "bin"  # a PATH with unshare but no runsc
    bin_dir.mkdir()
    os.symlink(shutil.which("unshare") or "unshare", bin_dir / "unshare")
    args = [AIRLOCK, "serve", "--state", str(ws.state), "--agent", str(spec), "--insecure-local", "--port", "0"]
    refused = subprocess.run(
        [*args, "--sandbox-isolation", "gvisor"], capture_output=True, text=True, env=cli_env({**ws.env, "PATH": str(bin_dir)}), timeout=60
    )
    assert refused.returncode == 2
    assert "cannot start the local sandbox executor: isolation 'gvisor' needs runsc, which is not installed" in refused.stderr
    assert "Traceback" not in refused.stderr and not ws.state.exists()
    bogus = subprocess.run([*args, "--sandbox-isolation", "vm"], capture_output=True, text=True, env=cli_env(ws.env), timeout=60)
    assert bogus.returncode == 2 and "--sandbox-isolation 'vm' is not allowed; allowed: auto, gvisor, netns" in bogus.stderr


def test_isolation_named_by_flag_is_the_one_readyz_and_the_audit_report(ws: Workspace) -> None:
    spec = ws.spec([calls(Call("run_python", {"code": "print(1)"})), final("ok")])
    service = ws.serve(spec, "--sandbox-isolation", "netns")
    assert service.client().get("/readyz").json()["sandboxes"] == {"default": {"executor": "local", "isolation": "netns"}}
    with service.client(ws.token) as client:
        task = client.post("/v1/tasks", json={"task": "one"}).json()["task_id"]
        assert wait_status(client, task, {"succeeded", "failed"})["status"] == "succeeded"
    assert [r["isolation"] for r in audit_records(ws.state, "tool_result")] == ["netns"]
    assert service.stop() == 0


def test_the_agent_loader_retrying_never_starts_a_second_executor(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """In process: the loader retries while the payments secret is missing; every attempt
    asks for the sandbox pools, one executor serves them all, and close() stops it."""
    from runtime.errors import BadInput
    from runtime.service.context import ServiceContext, Settings

    spec = ws.spec([final("unused")])
    monkeypatch.setattr("tempfile.tempdir", str(ws.tmp))
    monkeypatch.setenv("AIRLOCK_SECRETS_DIR", ws.env["AIRLOCK_SECRETS_DIR"])
    monkeypatch.delenv("PAYMENTS_KEY", raising=False)
    monkeypatch.delenv("AIRLOCK_SANDBOXES", raising=False)
    settings = Settings(
        state_dir=ws.state, store_url=f"sqlite://{ws.state}", agent_spec=spec, host="127.0.0.1", port=0, concurrency=1,
        tokens_file=None, insecure_local=True, max_task_chars=1000, lease_seconds=30, drain_seconds=1,
    )  # fmt: skip
    ctx = ServiceContext(settings)
    attempts: list[str] = []
    asked = ctx.sandboxes.urls

    def counted(tools: Any) -> dict[str, str]:
        urls = asked(tools)
        attempts.append(urls["default"])
        return urls

    monkeypatch.setattr(ctx.sandboxes, "urls", counted)
    try:
        ctx.start_loading(retry_seconds=0.01)
        wait_for(lambda: len(attempts) >= 3, None, None, "three load attempts")
        assert ctx.agent is None and "PAYMENTS_KEY" in (ctx.agent_error or "")
        assert len(set(attempts)) == 1 and len(ws.executor_dirs()) == 1
        monkeypatch.setenv("PAYMENTS_KEY", "pk_live_now_there")
        wait_for(lambda: ctx.agent is not None, None, None, "the agent to load")
        assert ctx.sandbox_report() == {"default": {"executor": "local", "isolation": AUTO}}
        assert len(set(attempts)) == 1 and len(ws.executor_dirs()) == 1
    finally:
        ctx.close()
    assert ws.executor_dirs() == []
    # Closed for good: a loader still running cannot start another.
    with pytest.raises(BadInput, match="shut down"):
        asked(ctx.agent.spec.tools)  # type: ignore[union-attr]


def test_a_deployed_orchestrator_never_starts_a_local_executor(ws: Workspace) -> None:
    """With AIRLOCK_PLATFORM set (the orchestrator pod of a stack), code runs only in the
    stack's pools: a pool AIRLOCK_SANDBOXES lacks keeps the service not ready, saying so."""
    spec = ws.spec([final("unused")])
    env = {"AIRLOCK_PLATFORM": "kubernetes", "AIRLOCK_SANDBOXES": json.dumps({"analytics": "http://127.0.0.1:9"})}
    service = start_service(ws.state, spec, tokens_file=ws.tokens_file, env={**ws.env, **env}, wait_ready=False)
    ws.services.append(service)
    reason: dict[str, str] = {}

    def not_ready_with_reason() -> bool:
        answer = service.client().get("/readyz")
        reason.update(answer.json())
        return answer.status_code == 503 and "agent not loaded" in reason.get("reason", "")

    wait_for(not_ready_with_reason, service.proc, service.log_path, "the load to fail")
    assert "tools[3].pool: 'default' has no executor; AIRLOCK_SANDBOXES names: analytics" in reason["reason"]
    assert ws.executor_dirs() == []
    assert service.stop() == 0
