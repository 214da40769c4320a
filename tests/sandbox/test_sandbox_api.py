"""The executor's API contract, in every isolation mode: shapes, limits, errors, cleanup."""

from __future__ import annotations

import os
import random
import threading
from pathlib import Path

import httpx
import pytest

from sandbox_testkit import SMALL, ExecClient, executor_for
from sandbox.cli import main as sandbox_main
from sandbox.isolation import IsolationUnavailable, check_available
from sandbox.server import start_local_executor


def test_runs_python_with_files_stdin_and_returns_changed_files(any_mode: ExecClient) -> None:
    code = (
        "import sys, pathlib\n"
        "name = sys.stdin.read().strip()\n"
        "data = pathlib.Path('input/data.csv').read_text()\n"
        "pathlib.Path('out').mkdir()\n"
        "pathlib.Path('out/report.txt').write_text(f'{name}: {len(data.splitlines())} rows')\n"
        "print('done')\n"
    )
    result = any_mode.run(code, files={"input/data.csv": "a,b\n1,2\n3,4\n", "same.txt": "unchanged"}, stdin="sales\n")
    assert result["exitCode"] == 0 and result["stdout"] == "done\n"
    assert result["files"] == {"out/report.txt": "sales: 3 rows"}  # inputs unchanged: not returned
    assert result["timedOut"] is False and result["truncated"] is False
    assert isinstance(result["durationMs"], int)
    assert result["isolation"] == any_mode.executor.isolation


def test_runs_bash(any_mode: ExecClient) -> None:
    result = any_mode.run("echo \"hello $((6*7))\"; echo oops >&2; exit 3", language="bash")
    assert (result["exitCode"], result["stdout"], result["stderr"]) == (3, "hello 42\n", "oops\n")


def test_the_code_sees_an_empty_environment(any_mode: ExecClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRLOCK_TEST_ORCHESTRATOR_TOKEN", "tok_should_never_leak")
    result = any_mode.run("import os\nprint(sorted(os.environ))\nprint(os.environ.get('AIRLOCK_TEST_ORCHESTRATOR_TOKEN'))")
    names = eval(result["stdout"].splitlines()[0])  # noqa: S307 - our own printed list
    assert set(names) <= {"PATH", "HOME", "TMPDIR", "LANG", "PYTHONDONTWRITEBYTECODE", "LC_CTYPE"}
    assert result["stdout"].splitlines()[1] == "None"


def test_output_is_capped_and_marked_truncated(any_mode: ExecClient) -> None:
    result = any_mode.run("import sys\nsys.stdout.write('x' * 1_000_000)\nprint('tail', file=sys.stderr)")
    assert result["truncated"] is True
    assert result["stdout"] == "x" * SMALL.max_output_bytes
    assert result["stderr"] == "tail\n"


def test_work_dirs_are_removed_after_each_exec(any_mode: ExecClient) -> None:
    any_mode.run("open('left-behind.txt', 'w').write('x')")
    assert list(any_mode.executor.work_dir.iterdir()) == []
    assert any_mode.run("import os\nprint(os.listdir('.'))")["stdout"] == "['.airlock-main.py']\n"


def test_process_mode_kills_what_the_code_left_running(executors: dict) -> None:
    client = ExecClient(executor_for(executors, "process"))
    seconds = f"299.{random.randrange(10**8):08d}"  # a command line no other process on the machine has
    result = client.run(f"import subprocess\nsubprocess.Popen(['sleep', '{seconds}'], start_new_session=True)\nprint('ok')")
    assert result["exitCode"] == 0
    if os.getuid() == 0:  # the exec's own uid lets the executor find processes that left its group
        from test_sandbox_containment import _host_processes_running

        assert not _host_processes_running(["sleep", seconds])


@pytest.mark.parametrize(
    "body,field,words",
    [
        ({"language": "python", "code": "1", "timeoutSeconds": 61}, "timeoutSeconds", "above this executor's maximum of 60"),
        ({"language": "python", "code": "1", "memoryMb": 4096}, "memoryMb", "above this executor's maximum of 512"),
        ({"language": "ruby", "code": "1"}, "language", "allowed: one of python, bash"),
        ({"code": "1"}, "language", "Field required"),
        ({"language": "python", "code": "1", "files": {"../escape": "x"}}, "files", "must be relative"),
        ({"language": "python", "code": "1", "network": True}, "network", "Extra inputs"),
        ({"language": "python", "code": "x" * 300_000}, "code", "at most"),
    ],
)
def test_bad_requests_get_400_naming_the_field(executors: dict, body: dict, field: str, words: str) -> None:
    executor = executor_for(executors, "process")
    response = httpx.post(f"{executor.url}/v1/exec", json=body, timeout=30)
    assert response.status_code == 400
    error = response.json()
    assert error["field"] == field and error["error"].startswith(field) and words in error["error"], error


def test_non_json_bodies_and_unknown_routes_get_json_errors(executors: dict) -> None:
    executor = executor_for(executors, "process")
    bad = httpx.post(f"{executor.url}/v1/exec", content=b"{not json", timeout=30)
    assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]
    missing = httpx.get(f"{executor.url}/v1/nothing", timeout=30)
    assert missing.status_code == 404 and "error" in missing.json()
    wrong = httpx.get(f"{executor.url}/v1/exec", timeout=30)
    assert wrong.status_code == 405 and "error" in wrong.json()


def test_health_and_readiness_report_the_isolation(any_mode: ExecClient) -> None:
    assert any_mode.http.get("/healthz").json() == {"status": "ok"}
    ready = any_mode.http.get("/readyz").json()
    assert ready["isolation"] == any_mode.executor.isolation
    assert ready["limits"]["timeoutSeconds"] == {"default": 30, "max": 60}


def test_a_full_executor_answers_429() -> None:
    with start_local_executor("process", SMALL.model_copy(update={"concurrency": 1})) as executor:
        code = "import time\ntime.sleep(30)"
        slow = threading.Thread(
            target=httpx.post, args=(f"{executor.url}/v1/exec",), kwargs={"json": {"language": "python", "code": code, "timeoutSeconds": 5}, "timeout": 60}
        )
        slow.start()
        try:
            while httpx.get(f"{executor.url}/readyz").json()["busy"] == 0:  # until the first exec holds the only slot
                assert slow.is_alive()
                threading.Event().wait(0.05)
            busy = httpx.post(f"{executor.url}/v1/exec", json={"language": "python", "code": "print(1)"}, timeout=30)
            assert busy.status_code == 429 and "busy" in busy.json()["error"]
        finally:
            slow.join()
        after = httpx.post(f"{executor.url}/v1/exec", json={"language": "python", "code": "print(1)"}, timeout=30)
        assert after.status_code == 200 and after.json()["stdout"] == "1\n"


def test_asking_for_gvisor_without_runsc_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no runsc (and no unshare)
    with pytest.raises(IsolationUnavailable, match="gvisor"):
        check_available("gvisor")
    with pytest.raises(IsolationUnavailable):
        start_local_executor("gvisor", SMALL)
    assert sandbox_main(["serve", "--isolation", "gvisor", "--work-dir", str(tmp_path)]) == 2
    assert "error: isolation 'gvisor'" in capsys.readouterr().err


def test_cli_rejects_bad_limits_naming_the_variable(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    monkeypatch.setenv("AIRLOCK_EXEC_MAX_PROCESSES", "lots")
    assert sandbox_main(["serve", "--work-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "AIRLOCK_EXEC_MAX_PROCESSES='lots'" in err and "Traceback" not in err
