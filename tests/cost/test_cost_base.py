"""`airlock cost STACK --base REF`: the monthly delta of a change, with the base synthesized
from a temporary git worktree so the user's checkout is left as it was."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from support import make_project, run_cli, stack_document

G6E_XLARGE, GP3_GB_MONTH, HOURS = 1.861, 0.08, 730  # airlock/cost/prices.yaml, us-east-1


def git(project: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(project), *args], check=True, capture_output=True, text=True).stdout


def test_base_ref_shows_the_delta_of_an_uncommitted_change(tmp_path: Path) -> None:
    document = stack_document("staging")
    project = make_project(tmp_path, {"staging": document})
    git(project, "init", "-q", "-b", "main")
    git(project, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", "-A")
    git(project, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base")

    # The change under review: a second always-on L40S node.
    document["config"]["airlock:gpuPools"][0]["minSize"] = 2
    stack_file = project / "stacks" / "Pulumi.staging.yaml"
    stack_file.write_text(yaml.safe_dump(document, sort_keys=False))
    before = git(project, "status", "--porcelain")

    result = run_cli("cost", "staging", "--base", "HEAD", "--format", "json", cwd=project)
    assert result.returncode == 0, result.stderr
    delta = json.loads(result.stdout)["delta"]
    one_node = G6E_XLARGE * HOURS + 500 * GP3_GB_MONTH      # $1,358.53 of node + $40 of its 500 GiB disk
    assert delta["base_ref"] == "HEAD"
    assert delta["monthly_delta_usd"] == round(one_node, 2)
    assert delta["groups"]["GPU nodes"]["delta"] == round(G6E_XLARGE * HOURS, 2)
    assert delta["groups"]["node storage"]["delta"] == round(500 * GP3_GB_MONTH, 2)
    assert delta["groups"]["network"]["delta"] == 0

    # The checkout is untouched and no worktree is left behind.
    assert git(project, "status", "--porcelain") == before
    assert len(git(project, "worktree", "list").splitlines()) == 1


def test_delta_lines_name_the_ref_the_totals_and_the_changed_groups() -> None:
    from airlock.cost.delta import CostDelta
    from airlock.cost.render import render_delta_lines

    delta = CostDelta("main", 1804.34, 3202.87, {"GPU nodes": (1358.53, 2717.06), "network": (178.85, 178.85)})
    lines = render_delta_lines(delta).splitlines()
    assert lines[0] == "change against main: $1,804.34 -> $3,202.87 per month (+$1,398.53)"
    assert lines[1:] == ["  GPU nodes: $1,358.53 -> $2,717.06 (+$1,358.53)"]


def test_base_ref_that_does_not_exist(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"staging": stack_document("staging")})
    git(project, "init", "-q")
    result = run_cli("cost", "staging", "--base", "no-such-branch", cwd=project)
    assert result.returncode == 2
    assert "git ref 'no-such-branch' does not name a commit" in result.stderr
