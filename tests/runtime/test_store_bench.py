"""bench/store_overhead.py must keep running and report every store and its peer (never timed here)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "store_overhead.py"
FIGURES = ("step_median_ms", "step_p95_ms", "tasks_per_s_1_worker", "tasks_per_s_workers")


def test_store_bench_reports_each_backend_and_postgressaver_with_a_tiny_task():
    steps, tasks = 2, 2
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--steps", str(steps), "--tasks", str(tasks), "--workers", "2", "--payload", "32", "--json"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout[-3000:]  # a failed contender is named in the report
    result = json.loads(proc.stdout.splitlines()[-1])
    assert (result["steps"], result["tasks"], result["workers"], result["payload_chars"]) == (steps, tasks, 2, 32)

    measured = {**{f"airlock {k}": v for k, v in result["stores"].items()}, **result["peers"]}
    assert set(result["peers"]) == {"langgraph_postgres_sync", "langgraph_postgres_async"}
    aws = result["stores"].pop("aws_moto")
    if importlib.util.find_spec("runtime.store_aws") is None:
        assert aws == {"skipped": "runtime.store_aws is not in this tree"}
        del measured["airlock aws_moto"]
    else:
        assert "not AWS" in aws["note"]  # moto's figures are labelled as code-path overhead only
    assert set(result["stores"]) == {"sqlite", "postgresql"}
    for name, figures in measured.items():
        # Every step of every sequential task was measured, and each figure is a real duration.
        assert figures["steps_measured"] == steps * tasks, name
        assert all(figures[k] > 0 for k in FIGURES), (name, figures)
        if name != "langgraph_postgres_async":  # async writes overlap later steps: not attributed
            assert 0 < figures["persist_median_ms"] <= figures["persist_p95_ms"], (name, figures)
        if name.startswith("airlock"):  # the write-ahead audit appends are a part of the write time
            assert 0 < figures["persist_audit_median_ms"] <= figures["persist_median_ms"], (name, figures)

    airlock, peer = result["stores"]["postgresql"], result["peers"]["langgraph_postgres_sync"]
    ratio = result["ratio_postgresql_airlock_over_langgraph_sync"]
    assert abs(ratio["step_median"] - airlock["step_median_ms"] / peer["step_median_ms"]) < 0.01
    assert abs(ratio["persist_median"] - airlock["persist_median_ms"] / peer["persist_median_ms"]) < 0.01
    assert abs(ratio["tasks_per_s_workers"] - airlock["tasks_per_s_workers"] / peer["tasks_per_s_workers"]) < 0.01
