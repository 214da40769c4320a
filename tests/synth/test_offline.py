"""airlock synth needs no network at all: run it in an empty network namespace."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import PROJECT_DIR, STACKS


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux unshare")
def test_synth_all_stacks_without_any_network(tmp_path: Path) -> None:
    airlock = str(Path(sys.executable).parent / "airlock")
    script = " && ".join(f"{airlock} synth {stack} --out {tmp_path / stack}" for stack in STACKS)
    # A new network namespace has only a downed loopback: any connection attempt fails.
    result = subprocess.run(
        ["unshare", "--net", "--", "sh", "-c", script],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    for stack in STACKS:
        assert (tmp_path / stack / "resources.json").is_file()
