"""The overhead bench must keep running (it is not timed here: tests never assert on speed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "runtime_overhead.py"


def test_bench_runs_both_loops_with_a_tiny_task():
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--steps", "3", "--repeats", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["steps"] == 3 and result["repeats"] == 1
    assert result["airlock_median_s"] > 0 and result["langgraph_median_s"] > 0
    ratio = result["airlock_median_s"] / result["langgraph_median_s"]
    assert abs(result["ratio_airlock_over_langgraph"] - ratio) < 0.01
