"""Docs that are generated or that quote commands must stay true."""

from __future__ import annotations

import re

from airlock.configdoc import render
from support import PROJECT_DIR


def test_configuration_reference_matches_the_schema() -> None:
    current = (PROJECT_DIR / "docs" / "configuration.md").read_text()
    assert current == render(), "docs/configuration.md is stale: run `python -m airlock.configdoc > docs/configuration.md`"


def test_readme_opens_with_the_two_commands_and_ci_runs_the_same_tests() -> None:
    readme = (PROJECT_DIR / "README.md").read_text()
    blocks = re.findall(r"```(?:sh|bash|console)?\n(.*?)```", readme, re.S)
    synth_block, test_block = blocks[0], blocks[1]
    assert "airlock synth" in synth_block
    test_command = [line for line in test_block.strip().splitlines() if line.strip()][-1].strip()
    ci = (PROJECT_DIR / ".ci" / "run").read_text()
    assert test_command.split("&&")[-1].strip() in ci, "README's test command must be what .ci/run runs"


def test_security_page_names_tests_that_exist() -> None:
    """docs/security.md proves each claim with a named test: every one must exist."""
    page = (PROJECT_DIR / "docs" / "security.md").read_text()
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", page)
    assert len(named) >= 20
    for path, function in named:
        source = (PROJECT_DIR / path).read_text()
        assert re.search(rf"^def {function}\(", source, re.M), f"{path}::{function} named in docs/security.md does not exist"
