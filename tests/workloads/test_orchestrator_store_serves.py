"""An orchestrator pod synthesized with a PostgreSQL store really uses it: the env and the
mounted password file the stack writes are all the runtime needs.

`airlock-runtime serve` runs with exactly the pod's args, env and mounts (paths moved into a
temp dir; the store's Secret written where the pod mounts it) against a real PostgreSQL
(Debian's, started for the session). One substitution stands in for the cluster: the
server's address in AIRLOCK_STORE (the stack's private IP becomes the test server's loopback
port; a stack may not name loopback itself). A task submitted to the API lands in the
database, and the pod's own state directory stays empty.
"""

from __future__ import annotations

import importlib.util
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from pod_emulation import base_env, emulate
from workload_manifests import get, synth_variant

from runtime import contract

NS = "airlock-orchestrator"
AIRLOCK_RUNTIME = str(Path(sys.executable).parent / "airlock-runtime")
STACK_HOST = "10.20.0.15:5432"


@pytest.fixture(scope="module")
def pg() -> Iterator[Any]:
    """The runtime suite's PostgreSQL server (tests/runtime/pg_server.py), for this module."""
    spec = importlib.util.spec_from_file_location("airlock_pg_server", Path(__file__).parents[1] / "runtime" / "pg_server.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    server = module.start()
    yield server
    server.stop()


def test_the_pod_reaches_its_postgresql_with_the_mounted_password(tmp_path: Path, pg: Any) -> None:
    database = pg.new_database().rsplit("/", 1)[1]

    def external(config: dict[str, Any]) -> None:
        config["airlock:cluster"]["installedAddons"] = []
        config["airlock:orchestrator"] = {
            "replicas": 2,
            "store": {"kind": "postgresql", "host": STACK_HOST.split(":")[0], "database": database,
                      "passwordSecret": "runtime-pg", "sslMode": "disable"},
        }

    bundle = synth_variant(tmp_path / "synth", "onprem", external)
    deployment = get(bundle, "Deployment", NS, "orchestrator")
    tokens = tmp_path / "tokens"
    made = subprocess.run([AIRLOCK_RUNTIME, "token", "create", "--name", "ops", "--roles", "submit", "--file", str(tokens)],
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    pod = emulate(
        bundle, deployment, tmp_path / "pod",
        secrets={
            contract.API_TOKENS_SECRET: {contract.API_TOKENS_KEY: tokens.read_text()},
            "runtime-pg": {"password": pg.app_password_file.read_text()},
        },
        secret_env={"VLLM_API_KEY": "vllm-test-key"},
    )
    url = pod.env[contract.STORE_ENV]
    assert url == f"postgresql://airlock@{STACK_HOST}/{database}?sslmode=disable"
    password_file = Path(pod.env["AIRLOCK_STORE_PASSWORD_FILE"])
    assert password_file.parent == pod.mounts["/var/run/secrets/airlock/store"]
    env = {
        **base_env(), **pod.env,
        contract.STORE_ENV: url.replace(STACK_HOST, f"127.0.0.1:{pg.port}"),
        contract.PORT_ENV: "0", contract.HOST_ENV: "127.0.0.1",
    }
    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([AIRLOCK_RUNTIME, *pod.args], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        base = None
        while time.monotonic() < deadline and proc.poll() is None:
            match = re.search(r"listening on (http://[\d.]+:\d+)", log_path.read_text())
            if match and httpx.get(match.group(1) + contract.READYZ_PATH, timeout=5).status_code == 200:
                base = match.group(1)
                break
            time.sleep(0.1)
        assert base is not None, log_path.read_text()
        token = made.stdout.strip()
        answer = httpx.post(base + "/v1/tasks", json={"task": "Refund order 7"}, headers={"authorization": f"Bearer {token}"}, timeout=30)
        assert answer.status_code in (200, 201, 202), answer.text
        task_id = answer.json()["task_id"]
        with pg.admin(database) as conn:
            assert conn.execute("SELECT count(*) FROM tasks WHERE id = %s", (task_id,)).fetchone()[0] == 1
        assert list(pod.mounts[contract.STATE_DIR].iterdir()) == []  # nothing per pod
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=contract.DRAIN_GRACE_SECONDS) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
