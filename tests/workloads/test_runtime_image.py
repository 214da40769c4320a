"""The runtime image, built here from the local base, run the way the orchestrator pod runs it.

podman with a read-only root, user 10001, every capability dropped, no-new-privileges, the
synthesized prod env and the pod's mounts (emptyDir-like writable directories for /tmp and
the state). Three env values differ from prod because a scripted model server on loopback
stands in for the cluster's models: the agent spec (and so AIRLOCK_AGENT_VERSION) and
AIRLOCK_MODEL_ROUTES; and AIRLOCK_STORE is dropped, so the embedded store in the state mount
stands in for prod's AWS store. The container answers /readyz, runs a task to `succeeded`, and
`podman stop` ends it with exit status 0 inside the grace period.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from pod_emulation import emulate
from support import PROJECT_DIR, shipped
from workload_manifests import get, pod_spec

from runtime import contract

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))
from runtime_testkit import TOOLS_SOURCE, Call, ScriptedModelServer, calls, final  # noqa: E402

TAG = "localhost/airlock-runtime:test"
PODMAN_ENV = {**os.environ, "CONTAINERS_CONF": str(PROJECT_DIR / "images" / "podman" / "containers.conf")}
pytestmark = pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed (.ci/run installs it)")


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["podman", *args], capture_output=True, text=True, env=PODMAN_ENV, timeout=timeout)
    if check:
        assert proc.returncode == 0, f"podman {' '.join(args)}: {proc.stderr}"
    return proc


@pytest.fixture(scope="session")
def runtime_image() -> str:
    for script, args in (("build-base.sh", []), ("build-runtime.sh", [TAG])):
        proc = subprocess.run(
            ["bash", str(PROJECT_DIR / "images" / script), *args],
            capture_output=True, text=True, timeout=1200, env={**PODMAN_ENV, "PYTHON": sys.executable},
        )
        assert proc.returncode == 0, f"{script}: {proc.stdout}\n{proc.stderr}"
    return TAG


def test_the_image_runs_hardened_serves_a_task_and_stops_cleanly(tmp_path, runtime_image):
    model = ScriptedModelServer("openai", [calls(Call("lookup_order", {"order_id": 7})), final("Order 7 was delivered.")])
    name = f"airlock-runtime-test-{os.getpid()}"
    try:
        bundle = shipped("prod")
        deployment = get(bundle, "Deployment", "airlock-orchestrator", "orchestrator")
        tokens_src = tmp_path / "tokens-src"
        made = subprocess.run(
            [str(Path(sys.executable).parent / "airlock-runtime"), "token", "create", "--name", "ops", "--roles", "submit", "--file", str(tokens_src)],
            capture_output=True, text=True, timeout=60,
        )
        assert made.returncode == 0, made.stderr
        token = made.stdout.strip()
        pod = emulate(
            bundle, deployment, tmp_path / "pod", remap=False,
            secrets={contract.API_TOKENS_SECRET: {contract.API_TOKENS_KEY: tokens_src.read_text()}},
            secret_env={"VLLM_API_KEY": "vllm-test-key"},
        )
        # The scripted model instead of the cluster's: its spec (with a tool) in the spec volume.
        spec_dir = pod.mounts[contract.AGENT_DIR]
        spec = {
            "name": "assistant", "instructions": "Answer.",
            "models": {"default": {"provider": "openai", "baseUrl": model.url, "model": model.model, "timeoutSeconds": 30}},
            "tools": [{"name": "lookup_order", "kind": "python", "target": "tools:lookup_order", "policy": "allow"}],
        }
        (spec_dir / "agent.yaml").write_text(yaml.safe_dump(spec))
        shutil.copy(TOOLS_SOURCE, spec_dir / "tools.py")
        from runtime.spec import load_spec_file

        env = dict(pod.env)
        env[contract.AGENT_VERSION_ENV] = load_spec_file(str(spec_dir / "agent.yaml")).version
        env[contract.MODEL_ROUTES_ENV] = json.dumps({"default": {"provider": "openai", "baseUrl": model.url, "model": model.model}})
        env[contract.PORT_ENV] = "0"  # host networking on a shared machine: a free port, not 8080
        env[contract.HOST_ENV] = "127.0.0.1"
        # The image, not the store, is under test here: the embedded store in the state mount
        # stands in for prod's AWS store (whose pod test is tests/workloads/test_orchestrator_serves.py).
        assert env.pop(contract.STORE_ENV) == contract.AWS_STORE
        for path, directory in pod.mounts.items():  # the pod's fsGroup makes volumes usable by UID 10001
            directory.chmod(0o755 if pod.read_only[path] else 0o777)
            for f in directory.iterdir():
                f.chmod(0o644)
        args = ["run", "-d", "--name", name, "--read-only", "--user", str(contract.RUNTIME_UID), "--cap-drop=ALL",
                "--security-opt", "no-new-privileges", "--network=host"]
        for key, value in env.items():
            args += ["--env", f"{key}={value}"]
        for path, directory in pod.mounts.items():
            args += ["--volume", f"{directory}:{path}:{'ro' if pod.read_only[path] else 'rw'}"]
        podman(*args, runtime_image, *pod.args)

        deadline = time.monotonic() + 120
        url = None
        while time.monotonic() < deadline and url is None:
            match = re.search(r"listening on (http://[\d.]+:\d+)", podman("logs", name).stderr + podman("logs", name).stdout)
            url = match.group(1) if match else None
            time.sleep(0.2)
        assert url, podman("logs", name).stderr
        ready = None
        while time.monotonic() < deadline:
            ready = httpx.get(url + contract.READYZ_PATH, timeout=5)
            if ready.status_code == 200:
                break
            time.sleep(0.2)
        assert ready is not None and ready.status_code == 200, f"{ready.text if ready else ''} {podman('logs', name).stderr}"

        client = httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=30)
        task_id = client.post("/v1/tasks", json={"task": "Where is order 7?"}).json()["task_id"]
        status = None
        while time.monotonic() < deadline:
            status = client.get(f"/v1/tasks/{task_id}").json()
            if status["status"] not in ("queued", "running"):
                break
            time.sleep(0.2)
        assert status and status["status"] == "succeeded", f"{status} {podman('logs', name).stderr}"
        assert status["output"] == "Order 7 was delivered." and model.count == 2
        assert (pod.mounts[contract.STATE_DIR] / "airlock.db").exists()

        podman("stop", "--time", str(contract.DRAIN_GRACE_SECONDS), name, timeout=contract.DRAIN_GRACE_SECONDS + 30)
        exit_code = podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
        assert exit_code == "0", podman("logs", name).stderr
    finally:
        podman("rm", "--force", name, check=False)
        model.close()
