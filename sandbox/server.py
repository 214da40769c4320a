"""Serving the executor: on a port (the container), or on loopback in this process for the
agent runtime's embedded mode (:func:`start_local_executor`)."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from sandbox.app import Executor, create_app
from sandbox.config import ExecutorSettings, settings_from_env
from sandbox.isolation import best_local_isolation, check_available

STARTUP_LIMIT_SECONDS = 60  # a bound on a broken start, not a race: startup takes milliseconds


def uvicorn_config(executor: Executor, log_level: str = "warning") -> uvicorn.Config:
    return uvicorn.Config(create_app(executor), log_level=log_level, access_log=False, lifespan="off")


@dataclass
class LocalExecutor:
    """A running local executor: where to reach it, how it isolates, how to stop it."""

    url: str
    isolation: str
    work_dir: Path
    _executor: Executor = field(repr=False)
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        """Stop serving and kill the execs still running (none outlives its caller), then
        remove the work dir."""
        self._server.should_exit = True
        self._executor.stop_execs()
        self._thread.join(timeout=30)
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def start_local_executor(isolation: str = "auto", settings: ExecutorSettings | None = None) -> LocalExecutor:
    """Start an executor on 127.0.0.1 (a free port) in a thread of this process.

    The HTTP server stays on the host's loopback so the runtime can reach it; every exec's
    process runs in fresh network, mount and PID namespaces ('netns') and, with 'gvisor',
    under gVisor. 'auto' picks gVisor when runsc is installed, else 'netns'. A mode this
    machine cannot provide raises IsolationUnavailable: never a silent fallback.
    """
    chosen = best_local_isolation() if isolation == "auto" else isolation
    check_available(chosen)
    work_dir = Path(tempfile.mkdtemp(prefix="airlock-sandbox-"))
    work_dir.chmod(0o711)  # execs may run as their own uid: they must reach their own dir
    base = settings or settings_from_env()
    executor = Executor(base.model_copy(update={"work_dir": work_dir}), chosen)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(executor))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="airlock-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            shutil.rmtree(work_dir, ignore_errors=True)
            raise RuntimeError("the local sandbox executor did not start")
        time.sleep(0.01)
    return LocalExecutor(f"http://127.0.0.1:{port}", chosen, work_dir, executor, server, thread)
