"""mypy checks components/, airlock/ and runtime/ on every test run (settings: pyproject.toml [tool.mypy])."""

from __future__ import annotations

import subprocess
import sys

from support import PROJECT_DIR


def test_mypy_finds_no_errors_in_the_kit_and_the_runtime() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
