"""KEDA's postgresql trigger, as synthesized for onprem, counts the work a replica would take.

The query and the login (user, sslmode, password from the Secret the runtime mounts) come
from the onprem bundle's ScaledObject and TriggerAuthentication; they run against a real
PostgreSQL holding the runtime's own schema, filled through the store the runtime uses.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import yaml

from runtime.store_api import Submission, open_store
from support import shipped

NS = "airlock-orchestrator"


def manifest(kind: str, name: str) -> dict:
    path = Path(shipped("onprem").directory) / "manifests" / NS / f"{kind.lower()}-{name}.yaml"
    return yaml.safe_load(path.read_text())


def submission(index: int) -> Submission:
    return Submission(
        task_id=f"task-{index}", agent_name="assistant", agent_version="v1", spec_text="name: assistant",
        spec_path=None, spec_dir=".", task_text=f"task {index}", request_sha256="0" * 64, submitted_by="test",
    )


def test_the_scalers_query_counts_queued_and_running_tasks_only(pg_server, monkeypatch: pytest.MonkeyPatch) -> None:
    (trigger,) = manifest("ScaledObject", "orchestrator")["spec"]["triggers"]
    assert trigger["type"] == "postgresql"
    auth = manifest("TriggerAuthentication", trigger["authenticationRef"]["name"])["spec"]
    # The password comes from the same Secret (and key) the runtime mounts as its password file.
    deployment = manifest("Deployment", "orchestrator")
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    (ref,) = auth["secretTargetRef"]
    assert (ref["parameter"], ref["name"], ref["key"]) == ("password", volumes["store-password"]["secret"]["secretName"], "password")

    url = pg_server.new_database()
    monkeypatch.setenv("AIRLOCK_STORE_PASSWORD_FILE", str(pg_server.app_password_file))
    store = open_store(url)
    try:
        for index in range(5):
            store.submit_task(submission(index))
        claims = [store.claim_next(f"worker-{n}", "v1", 30.0) for n in range(3)]
        assert [c.task_id for c in claims if c] == ["task-0", "task-1", "task-2"]
        # task-0 finishes (off the queue); task-1 keeps running under its lease; task-2 is
        # killed while its worker still holds the lease (its queue row stays until the worker
        # lets go, but no worker will run it again); task-4 is cancelled before anyone took it.
        store.release_lease("task-0", "worker-0", done=True)
        store.set_status("task-0", "succeeded")
        store.set_status("task-2", "killed", release=False)
        assert store.withdraw("task-4")
        store.set_status("task-4", "cancelled")
    finally:
        store.close()

    meta = trigger["metadata"]
    dbname = url.rsplit("/", 1)[1]  # the test's database instead of the stack's 'airlock'
    with psycopg.connect(
        host="127.0.0.1", port=pg_server.port, user=meta["userName"], dbname=dbname,
        # The test server has no TLS certificate; CloudNativePG always serves TLS (sslmode require).
        password=pg_server.app_password_file.read_text().strip(), sslmode="disable",
    ) as conn:
        (count,) = conn.execute(meta["query"]).fetchone()
    # task-1 (running) and task-3 (queued): the work KEDA sizes the Deployment for.
    assert count == 2
    assert int(meta["targetQueryValue"]) >= 1
