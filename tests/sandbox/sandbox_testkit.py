"""Helpers for the sandbox tests: small limits, local executors per mode, an exec client.

The limits are deliberately small (16 processes, 256 MiB of address space, 16 MiB files,
short timeouts) so that the abuse tests are quick and never hurt the shared machine.
"""

from __future__ import annotations

import shutil

import httpx
import pytest

from sandbox.config import ExecutorSettings
from sandbox.server import LocalExecutor, start_local_executor

SMALL = ExecutorSettings(
    timeout_seconds=30,
    max_timeout_seconds=60,
    memory_mb=256,
    max_memory_mb=512,
    cpu_seconds=20,
    max_processes=16,
    max_file_mb=16,
    tmp_mb=16,
    max_output_bytes=4096,
    concurrency=2,
)


def _needs(isolation: str) -> None:
    if isolation != "process" and shutil.which("unshare") is None:
        pytest.skip("unshare is not installed (util-linux); .ci/run installs it")
    if isolation == "gvisor" and shutil.which("runsc") is None:
        pytest.skip("runsc is not installed; .ci/run installs it (Debian package runsc)")


def executor_for(executors: dict[str, LocalExecutor], isolation: str) -> LocalExecutor:
    _needs(isolation)
    if isolation not in executors:
        executors[isolation] = start_local_executor(isolation, SMALL)
    return executors[isolation]


class ExecClient:
    def __init__(self, executor: LocalExecutor) -> None:
        self.executor = executor
        self.http = httpx.Client(base_url=executor.url, timeout=120)

    def run(self, code: str, language: str = "python", **extra: object) -> dict:
        response = self.http.post("/v1/exec", json={"language": language, "code": code, **extra})
        assert response.status_code == 200, response.text
        return response.json()

    def still_serves(self) -> None:
        """The executor answers the next call normally."""
        result = self.run("print(6 * 7)")
        assert (result["exitCode"], result["stdout"], result["timedOut"]) == (0, "42\n", False)
