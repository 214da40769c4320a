"""The executor's HTTP API: POST /v1/exec, GET /healthz, GET /readyz. Errors are JSON."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox.api import BadRequest, parse_request
from sandbox.config import ExecutorSettings
from sandbox.runner import RunningExecs, Slot, run_exec

log = logging.getLogger("airlock.sandbox")


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


class Executor:
    """The executor's state: its settings, its isolation, and the free exec slots."""

    def __init__(self, settings: ExecutorSettings, isolation: str) -> None:
        self.settings = settings
        self.isolation = isolation
        self._free = list(range(settings.concurrency))
        self.execs = 0
        self.running = RunningExecs()

    def stop_execs(self) -> None:
        """Kill every running exec and refuse new ones (the executor is shutting down)."""
        self.running.kill_all()

    def take_slot(self) -> Slot | None:
        return Slot(self._free.pop(0)) if self._free else None

    def give_back(self, slot: Slot) -> None:
        self._free.append(slot.index)

    def readiness(self) -> dict[str, Any]:
        s = self.settings
        return {
            "status": "ready",
            "isolation": self.isolation,
            "execs": self.execs,
            "busy": s.concurrency - len(self._free),
            "limits": {
                "timeoutSeconds": {"default": s.timeout_seconds, "max": s.max_timeout_seconds},
                "memoryMb": {"default": s.memory_mb, "max": s.max_memory_mb},
                "cpuSeconds": s.cpu_seconds,
                "processes": s.max_processes,
                "openFiles": s.max_open_files,
                "fileMb": s.max_file_mb,
                "outputBytes": s.max_output_bytes,
                "concurrency": s.concurrency,
            },
        }


def create_app(executor: Executor) -> Starlette:
    async def exec_code(request: Request) -> JSONResponse:
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return _error(400, f"the body is not valid JSON: {exc}")
        try:
            parsed = parse_request(body, executor.settings)
        except BadRequest as exc:
            return _error(400, str(exc), field=exc.field)
        if executor.running.closed:
            return _error(503, "the executor is shutting down")
        slot = executor.take_slot()
        if slot is None:  # never queue: the caller (the runtime) decides whether to retry
            return _error(429, f"all {executor.settings.concurrency} exec slots are busy; retry later")
        try:
            executor.execs += 1
            result = await run_exec(parsed, executor.settings, executor.isolation, slot, executor.running)
        except Exception as exc:  # the executor's own fault, never the code's: say so in JSON
            log.exception("exec failed")
            return _error(500, f"the executor could not run the code: {type(exc).__name__}: {exc}")
        finally:
            executor.give_back(slot)
        return JSONResponse(result.to_json())

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> JSONResponse:
        return JSONResponse(executor.readiness())

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, exc.detail)

    return Starlette(
        routes=[
            Route("/v1/exec", exec_code, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error},
    )
