"""Tools of kind `sandbox`: the model's code goes to a sandbox pool's executor.

The executor of each pool is found in ``AIRLOCK_SANDBOXES`` (JSON: pool -> URL, set by the
orchestrator component), or, in embedded mode, is a local executor that `run`, `resume`
and `serve` start (:class:`LocalSandboxes`). The call goes through the loop like any tool:
policy, ledger and audit, so a resumed task never re-runs an exec whose result was
recorded. The executor's failures and the code's timeouts become error results; a non-zero
exit is a normal result the model reads. Each exec's audit record names the pool and the
isolation in force.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from runtime import contract
from runtime.errors import BadInput
from runtime.models.base import ToolDefinition
from runtime.sandbox_flags import cannot_start, check_isolation
from runtime.tool_kinds import pool_of
from runtime.tools import LoadedTool, build_tool

SANDBOXES_ENV = contract.SANDBOXES_ENV
# Time for the executor to start the sandbox and answer, on top of the code's own limit.
HTTP_MARGIN_SECONDS = 30
DEFAULT_TIMEOUT_SECONDS = 60


class SandboxError(Exception):
    """The exec did not produce a result (executor unreachable or failing, or a timeout)."""

    def __init__(self, message: str, audit_fields: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.audit_fields = dict(audit_fields)


def configured_sandboxes(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Pool -> executor URL from AIRLOCK_SANDBOXES; empty when unset."""
    raw = (os.environ if environ is None else environ).get(SANDBOXES_ENV, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{SANDBOXES_ENV} is not valid JSON ({exc.msg}); expected an object of pool name -> executor URL") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise BadInput(f"{SANDBOXES_ENV} must be a JSON object of pool name -> executor URL, got {raw[:80]!r}")
    return value


def pools_needed(tools: Sequence[Any]) -> list[str]:
    """Pools that sandbox tools which may run (policy not deny) send code to."""
    return list(dict.fromkeys(pool_of(t) for t in tools if t.kind == "sandbox" and t.policy != "deny"))


class LocalSandboxes:
    """Embedded mode: one local executor, started the first time the tools need a pool that
    AIRLOCK_SANDBOXES does not name, reused by later calls, stopped by :meth:`close`.

    `run` and `resume` hold it for one command (:func:`local_sandboxes`); `serve` for the
    process's lifetime, across the agent loader's retries (which therefore never start a
    second executor).
    """

    def __init__(self, isolation: str) -> None:
        check_isolation(isolation)
        self.isolation = isolation
        self._executor: Any = None
        self._lock = threading.Lock()
        self._closed = False

    def urls(self, tools: Sequence[Any]) -> dict[str, str]:
        """Pool -> URL for every pool the tools need (configured ones from AIRLOCK_SANDBOXES)."""
        urls = configured_sandboxes()
        missing = [p for p in pools_needed(tools) if p not in urls]
        if not missing or os.environ.get(contract.PLATFORM_ENV):
            # Deployed by a stack (the orchestrator pod): code runs only in the stack's sandbox
            # pools, never next to the orchestrator's credentials; a missing pool stays an error.
            return urls
        executor = self._start()
        return {**urls, **{pool: executor.url for pool in missing}}

    def _start(self) -> Any:
        from sandbox.isolation import IsolationUnavailable
        from sandbox.server import start_local_executor

        with self._lock:
            if self._closed:
                raise BadInput("the local sandbox executor is shut down (the process is stopping)")
            if self._executor is None:
                try:
                    self._executor = start_local_executor(self.isolation)
                except IsolationUnavailable as exc:
                    raise cannot_start(exc) from None
            return self._executor

    def describe(self, tools: Sequence[Any]) -> dict[str, dict[str, Any]]:
        """Per pool the tools use: which executor serves it and, for the local one, the
        isolation in force (a configured executor reports its own in each exec's result)."""
        configured = configured_sandboxes()
        executor = self._executor
        found: dict[str, dict[str, Any]] = {}
        for pool in pools_needed(tools):
            if pool in configured:
                found[pool] = {"executor": SANDBOXES_ENV, "isolation": None}
            elif executor is not None:
                found[pool] = {"executor": "local", "isolation": executor.isolation}
        return found

    def close(self) -> None:
        """Stop the local executor: running execs are killed, its work dir removed. Idempotent."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.stop()


@contextmanager
def local_sandboxes(tools: Sequence[Any], isolation: str) -> Iterator[dict[str, str]]:
    """Pool -> URL for every pool the tools need; pools missing from AIRLOCK_SANDBOXES get
    one local executor started for this block (embedded mode), with `isolation`."""
    sandboxes = LocalSandboxes(isolation)
    try:
        yield sandboxes.urls(tools)
    finally:
        sandboxes.close()


def _describe(language: str) -> str:
    return (
        f"Run {language} code in an isolated sandbox with no network and no credentials. "
        "Files you pass are written to the working directory first; files the code creates or "
        "changes come back in `files`. Returns exitCode, stdout, stderr and files."
    )


def build_sandbox_tool(spec: Any, url: str) -> LoadedTool:
    pool = pool_of(spec)
    language = spec.language
    timeout = spec.timeout_seconds or DEFAULT_TIMEOUT_SECONDS
    audit = {"kind": "sandbox", "pool": pool, "executor": url}

    def run_code(code: str, files: dict[str, str] | None = None, stdin: str = "") -> dict[str, Any]:
        """Run code in the sandbox.

        Args:
            code: The complete program to run.
            files: Optional text files to create first, path (relative) -> content.
            stdin: Optional standard input for the program.
        """
        body: dict[str, Any] = {"language": language, "code": code, "files": files or {}, "stdin": stdin, "timeoutSeconds": timeout}
        if spec.memory_mb is not None:
            body["memoryMb"] = spec.memory_mb
        import httpx  # here, not at the top: `airlock-runtime` starts faster without it

        try:
            response = httpx.post(f"{url}/v1/exec", json=body, timeout=timeout + HTTP_MARGIN_SECONDS)
        except httpx.HTTPError as exc:
            raise SandboxError(f"the sandbox executor of pool {pool!r} is unreachable: {type(exc).__name__}: {exc}", audit) from None
        if response.status_code != 200:
            try:
                detail = response.json().get("error")
            except ValueError:
                detail = None
            raise SandboxError(
                f"the sandbox executor of pool {pool!r} answered {response.status_code}: {detail or response.text[:200]}",
                {**audit, "http_status": response.status_code},
            )
        result = response.json()
        fields = {**audit, "isolation": result.get("isolation"), "exit_code": result.get("exitCode"), "timed_out": result.get("timedOut")}
        if result.get("timedOut"):
            raise SandboxError(
                f"the code ran out of its {timeout}s and was killed; stdout so far: {result.get('stdout', '')[-2000:]!r}",
                fields,
            )
        keys = ("exitCode", "stdout", "stderr", "truncated", "files", "durationMs", "isolation")
        return {k: result.get(k) for k in keys}

    tool = build_tool(spec, run_code)
    tool.definition = ToolDefinition(name=spec.name, description=spec.description or _describe(language), parameters=tool.definition.parameters)
    tool.audit_fields = lambda content: _audit_from_content(audit, content)
    return tool


def _audit_from_content(audit: Mapping[str, Any], content: str) -> dict[str, Any]:
    try:
        result = json.loads(content)
    except ValueError:
        return dict(audit)
    return {**audit, "isolation": result.get("isolation"), "exit_code": result.get("exitCode")}
