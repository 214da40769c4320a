"""The executor image: built from the local base without network, run the way a restricted
pod runs it (podman: read-only root, uid 10001, no capabilities, no privilege escalation,
a tmpfs work dir), and probed over HTTP."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support import PROJECT_DIR

IMAGE = "localhost/airlock-sandbox-executor:test"
BASE = "localhost/airlock-base:bookworm"
ENV = {**os.environ, "CONTAINERS_CONF": str(PROJECT_DIR / "images" / "podman" / "containers.conf")}
# The wheels the image installs: the executor's runtime dependencies (the ranges in
# pyproject.toml) and the libraries offered to sandboxed code.
EXECUTOR_DEPS = ["starlette>=0.37,<1", "uvicorn>=0.30,<1", "pydantic>=2.8,<3"]
CODE_LIBRARIES = ["numpy>=1.26,<3", "PyYAML>=6.0,<7", "python-dateutil>=2.8,<3"]
STARTUP_LIMIT_SECONDS = 120  # a bound on a broken start, not a race


def podman(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, env=ENV, timeout=timeout)


@pytest.fixture(scope="session")
def image(tmp_path_factory: pytest.TempPathFactory) -> str:
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed; .ci/run installs it")
    base = subprocess.run(["bash", str(PROJECT_DIR / "images" / "build-base.sh")], capture_output=True, text=True, env=ENV, timeout=900)
    assert base.returncode == 0, base.stderr
    context = tmp_path_factory.mktemp("sandbox-image")
    wheels = context / "wheels"
    pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheels)]
    for args in ([*pip, "--no-deps", str(PROJECT_DIR)], [*pip, *EXECUTOR_DEPS, *CODE_LIBRARIES]):
        built = subprocess.run(args, capture_output=True, text=True, timeout=900)
        assert built.returncode == 0, built.stderr
    build = podman(
        "build", "--pull=never", "--network=none", "--quiet", "--build-arg", f"BASE={BASE}",
        "-f", str(PROJECT_DIR / "images" / "sandbox-executor.Dockerfile"), "-t", IMAGE, str(context),
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    return IMAGE


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def executor_url(image: str) -> Iterator[str]:
    port = _free_port()
    started = podman(
        "run", "--detach", "--rm",
        "--read-only", "--user", "10001", "--cap-drop=ALL", "--security-opt", "no-new-privileges",
        "--tmpfs", "/work:rw,size=64m,mode=0700,U", "--tmpfs", "/tmp:rw,size=16m",
        "--network=host", "--env", "AIRLOCK_EXEC_MAX_PROCESSES=32",
        image, "--host", "127.0.0.1", "--port", str(port),
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    container = started.stdout.strip()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
    try:
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            running = podman("inspect", "--format", "{{.State.Running}}", container)
            assert running.stdout.strip() == "true" and time.monotonic() < deadline, podman("logs", container).stderr
            time.sleep(0.2)
        yield url
    finally:
        podman("stop", "--time", "10", container, timeout=60)


def run(url: str, code: str, language: str = "python") -> dict:
    response = httpx.post(f"{url}/v1/exec", json={"language": language, "code": code}, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def test_image_answers_its_probes_under_the_hardened_run(executor_url: str) -> None:
    assert httpx.get(f"{executor_url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{executor_url}/readyz").json()["isolation"] == "process"  # the container is the boundary


def test_code_runs_as_10001_with_the_common_libraries(executor_url: str) -> None:
    result = run(executor_url, "import os, numpy, yaml, dateutil\nprint(os.getuid(), int(numpy.arange(10).sum()), yaml.safe_dump({'a': 1}).strip())")
    assert (result["exitCode"], result["stdout"]) == (0, "10001 45 a: 1\n"), result


def test_the_root_filesystem_is_read_only_and_there_is_no_package_manager(executor_url: str) -> None:
    code = (
        "import shutil, subprocess, sys\n"
        "try:\n"
        "    open('/usr/lib/evil', 'w')\n"
        "except OSError as exc:\n"
        "    print('write:', exc.strerror)\n"
        "print('tools:', [t for t in ('pip', 'pip3', 'apt-get', 'apt', 'dpkg') if shutil.which(t)])\n"
        "print('pip module:', subprocess.run([sys.executable, '-m', 'pip', '--version'], capture_output=True).returncode)\n"
        "print('ensurepip:', subprocess.run([sys.executable, '-m', 'ensurepip'], capture_output=True).returncode)\n"
    )
    out = run(executor_url, code)["stdout"].splitlines()
    assert out[0] == "write: Read-only file system"
    assert out[1] == "tools: []"
    assert out[2] != "pip module: 0" and out[3] != "ensurepip: 0"


def test_limits_hold_inside_the_container(executor_url: str) -> None:
    result = run(executor_url, "block = bytearray(4 * 1024**3)")
    assert result["exitCode"] == 1 and "MemoryError" in result["stderr"]
    result = run(executor_url, "echo $(id -u) $HOME; env | sort | cut -d= -f1 | tr '\\n' ' '", language="bash")
    assert result["stdout"].startswith("10001 /work/exec-"), result
    assert "AIRLOCK" not in result["stdout"]  # the executor's own settings stay out of the code's environment
