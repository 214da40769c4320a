"""Sandbox tools end to end: a scripted model drives the example agent's run_python through
`airlock-runtime run` and a real executor, with policy, ledger and audit like any tool."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "runtime"))
from runtime_testkit import (  # noqa: E402
    Call,
    ScriptedModelServer,
    calls,
    final,
    kill_when,
    run_cli,
    start_cli,
    wait_killed,
)

from sandbox_testkit import SMALL  # noqa: E402
from sandbox.server import start_local_executor  # noqa: E402

EXAMPLE = HERE.parents[1] / "examples" / "refunds"


@pytest.fixture
def model() -> Iterator[ScriptedModelServer]:
    servers: list[ScriptedModelServer] = []

    def make(turns: list[Any]) -> ScriptedModelServer:
        server = ScriptedModelServer("openai", turns)
        servers.append(server)
        return server

    yield make  # type: ignore[misc]
    for server in servers:
        server.close()


def example_agent(tmp_path: Path, server: ScriptedModelServer, **run_python: Any) -> Path:
    """The example refunds agent, with its model routes pointed at the scripted server."""
    doc = yaml.safe_load((EXAMPLE / "agent.yaml").read_text())
    route = {"provider": "openai", "baseUrl": server.url, "model": server.model, "retryBackoffSeconds": 0.01, "timeoutSeconds": 30}
    doc["models"] = {"default": route}
    doc.pop("approvals", None)
    for tool in doc["tools"]:
        if tool["name"] == "run_python":
            tool.update(run_python)
    shutil.copy(EXAMPLE / "tools.py", tmp_path / "tools.py")
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def audit(state: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (state / "audit" / "audit.jsonl").read_text().splitlines()]


def tool_results(state: Path) -> list[dict[str, Any]]:
    return [r["data"] for r in audit(state) if r["kind"] == "tool_result"]


ENV = {"PAYMENTS_KEY": "pk_live_never_in_a_sandbox"}
TOTAL = "orders = {1042: 59.90, 1043: 12.00}\nprint(round(sum(orders.values()), 2))\n"
SNOOP = "import os\nprint(sorted(os.environ))\nprint(os.environ.get('PAYMENTS_KEY'))\n"


def test_the_example_agent_runs_python_in_a_local_sandbox(tmp_path: Path, model: Any) -> None:
    server = model([calls(Call("run_python", {"code": TOTAL}), Call("run_python", {"code": SNOOP})), final("Orders total 71.9.")])
    spec = example_agent(tmp_path, server)
    state = tmp_path / "state"
    result = run_cli("run", "--agent", str(spec), "--task", "What do orders 1042 and 1043 add up to?", "--state", str(state), "--json", env=ENV)
    assert result.rc == 0, result.stderr
    assert result.json["status"] == "succeeded" and result.json["output"] == "Orders total 71.9."
    total, snoop = (json.loads(r["content"]) for r in server.tool_results())
    assert (total["exitCode"], total["stdout"]) == (0, "71.9\n")
    expected = "gvisor" if shutil.which("runsc") else "netns"  # auto: gVisor where runsc is installed
    assert total["isolation"] == expected
    # The runtime holds the payments secret; the code it runs does not see it.
    assert snoop["stdout"].splitlines()[1] == "None" and "PAYMENTS_KEY" not in snoop["stdout"]
    records = tool_results(state)
    assert [(r["tool"], r["kind"], r["pool"], r["isolation"], r["exit_code"]) for r in records] == [
        ("run_python", "sandbox", "default", expected, 0)
    ] * 2
    # The model was offered the sandbox tool with a schema for its code.
    offered = {t["function"]["name"]: t["function"] for t in server.requests[0]["tools"]}
    assert offered["run_python"]["parameters"]["required"] == ["code"]


def test_timeouts_and_an_unreachable_executor_become_error_results(tmp_path: Path, model: Any) -> None:
    server = model([calls(Call("run_python", {"code": "while True:\n    pass"})), final("It timed out.")])
    spec = example_agent(tmp_path, server, timeoutSeconds=2)
    with start_local_executor("netns", SMALL) as executor:
        env = {**ENV, "AIRLOCK_SANDBOXES": json.dumps({"default": executor.url})}
        result = run_cli("run", "--agent", str(spec), "--task", "loop", "--state", str(tmp_path / "s1"), "--json", env=env)
    assert result.rc == 0 and result.json["status"] == "succeeded", result.stderr
    [seen] = server.tool_results()
    assert seen["is_error"] and "ran out of its 2s and was killed" in seen["content"]
    assert tool_results(tmp_path / "s1")[0]["timed_out"] is True

    down = model([calls(Call("run_python", {"code": "print(1)"})), final("The sandbox is down.")])
    spec = example_agent(tmp_path, down)
    env = {**ENV, "AIRLOCK_SANDBOXES": json.dumps({"default": "http://127.0.0.1:9"})}  # discard port: nothing listens
    result = run_cli("run", "--agent", str(spec), "--task", "t", "--state", str(tmp_path / "s2"), "--json", env=env)
    assert result.rc == 0 and result.json["status"] == "succeeded", result.stderr
    [seen] = down.tool_results()
    assert seen["is_error"] and "executor of pool 'default' is unreachable" in seen["content"]


def test_a_resumed_task_never_runs_a_recorded_exec_again(tmp_path: Path, model: Any) -> None:
    server = model([calls(Call("run_python", {"code": "print('side effect')"})), final("Done.")])
    spec = example_agent(tmp_path, server)
    state = tmp_path / "state"
    with start_local_executor("netns", SMALL) as executor:
        env = {**ENV, "AIRLOCK_SANDBOXES": json.dumps({"default": executor.url})}
        holder: dict[str, Any] = {}
        kill_when(server, 2, holder)  # SIGKILL the runtime when it asks the model again, after the exec
        holder["proc"] = start_cli("run", "--agent", str(spec), "--task", "t", "--state", str(state), "--json", env=env)
        wait_killed(holder["proc"])
        server.on_request = None
        task_id = next(r["task_id"] for r in audit(state) if r["kind"] == "task_started")
        result = run_cli("resume", task_id, "--state", str(state), "--json", env=env)
        assert result.rc == 0 and result.json["status"] == "succeeded", result.stderr
        assert httpx.get(f"{executor.url}/readyz").json()["execs"] == 1
    assert len(tool_results(state)) == 1
    assert json.loads(server.tool_results()[0]["content"])["stdout"] == "side effect\n"


def test_asking_for_gvisor_without_runsc_is_refused(tmp_path: Path, model: Any) -> None:
    server = model([final("unused")])
    spec = example_agent(tmp_path, server)
    bin_dir = tmp_path / "bin"  # a PATH with unshare but no runsc
    bin_dir.mkdir()
    unshare = shutil.which("unshare")
    if unshare:
        os.symlink(unshare, bin_dir / "unshare")
    env = {**ENV, "PATH": str(bin_dir)}
    result = run_cli("run", "--agent", str(spec), "--task", "t", "--state", str(tmp_path / "state"), "--sandbox-isolation", "gvisor", env=env)
    assert result.rc == 2
    assert "isolation 'gvisor' needs runsc, which is not installed" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "state").exists()
    assert server.count == 0
