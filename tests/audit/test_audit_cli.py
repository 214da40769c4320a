"""`airlock audit` as a user runs it: every shipped stack passes at --fail-on high (with its
dated suppressions), thresholds and bad input give the documented exit status, suppressions
are honoured, listed and expire, and reports are reproducible byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support import STACKS, make_project, run_cli, stack_document

TODAY = {"AIRLOCK_AUDIT_DATE": "2026-11-29"}


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stacks_audit_clean_at_high(stack, bundle_dir):
    result = run_cli("audit", stack, "--bundle", str(bundle_dir(stack)), "--format", "json", env=TODAY)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["passed"] and report["counts"]["high"] == 0
    for suppressed in report["suppressed"]:
        assert len(suppressed["reason"]) > 40 and suppressed["expires"] > "2026-11-29"
    assert report["unusedSuppressions"] == []


def test_threshold_medium_fails_on_a_medium_finding(bundle_dir):
    # dev deploys its own images by tag (AIRLOCK-K8S-007, medium).
    result = run_cli("audit", "dev", "--bundle", str(bundle_dir("dev")), "--fail-on", "medium", env=TODAY)
    assert result.returncode == 1
    assert "AIRLOCK-K8S-007" in result.stdout and "FAIL: 2 finding(s) at or above medium" in result.stdout


def test_audit_without_bundle_synthesizes(tmp_path):
    result = run_cli("audit", "onprem", "--format", "json", env=TODAY)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["profile"] == "airgapped"


@pytest.mark.parametrize(
    "args,message",
    [
        (["--format", "xml"], "--format 'xml' is not allowed; allowed: table, json, sarif, junit, html"),
        (["--fail-on", "critical"], "--fail-on 'critical' is not allowed; allowed: high, medium, low"),
        (["--bundle", "/nonexistent"], "--bundle /nonexistent: no such directory"),
    ],
)
def test_bad_arguments_exit_2(args, message, bundle_dir):
    result = run_cli("audit", "dev", *args, env=TODAY)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_bundle_of_another_stack_or_broken_bundle_exits_2(bundle_dir, tmp_path):
    result = run_cli("audit", "prod", "--bundle", str(bundle_dir("dev")), env=TODAY)
    assert result.returncode == 2 and "holds stack 'dev', not 'prod'" in result.stderr
    (tmp_path / "resources.json").write_text("{not json")
    result = run_cli("audit", "dev", "--bundle", str(tmp_path), env=TODAY)
    assert result.returncode == 2 and "not valid JSON" in result.stderr


def _project_with(tmp_path: Path, suppressions: list[dict]) -> Path:
    document = stack_document("airgap")
    document["config"]["airlock:auditSuppressions"] = suppressions
    return make_project(tmp_path, {"airgap": document})


def _suppression(rule: str, expires: str, resource: str = "nvidia-device-plugin") -> dict:
    return {"rule": rule, "resource": resource, "reason": "Device plugin needs the kubelet socket directory.", "expires": expires}


def test_suppressions_are_honoured_listed_and_expire(tmp_path, bundle_dir):
    kept = [_suppression(r, "2027-01-31") for r in ("AIRLOCK-K8S-004", "AIRLOCK-K8S-013", "AIRLOCK-K8S-018")]
    project = _project_with(tmp_path / "live", kept)
    bundle = str(bundle_dir("airgap"))
    result = run_cli("audit", "airgap", "--bundle", bundle, "--project", str(project), env=TODAY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "suppressed AIRLOCK-K8S-013 on DaemonSet kube-system/nvidia-device-plugin until 2027-01-31: Device plugin needs" in result.stdout

    # The same file after its expiry date: the findings are back and the stale entries are findings too.
    later = {"AIRLOCK_AUDIT_DATE": "2027-02-01"}
    result = run_cli("audit", "airgap", "--bundle", bundle, "--project", str(project), "--format", "json", env=later)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    rules = sorted(f["rule"] for f in report["findings"] if f["severity"] == "high")
    assert rules == ["AIRLOCK-AUDIT-001"] * 3 + ["AIRLOCK-K8S-004", "AIRLOCK-K8S-013", "AIRLOCK-K8S-018"]
    assert report["suppressed"] == []


def test_unknown_rule_or_bad_suppression_exits_2(tmp_path, bundle_dir):
    project = _project_with(tmp_path / "a", [_suppression("AIRLOCK-K8S-999", "2027-01-31")])
    result = run_cli("audit", "airgap", "--bundle", str(bundle_dir("airgap")), "--project", str(project), env=TODAY)
    assert result.returncode == 2 and "'AIRLOCK-K8S-999' is not a rule id" in result.stderr
    bad = _suppression("AIRLOCK-K8S-004", "someday")
    project = _project_with(tmp_path / "b", [bad])
    result = run_cli("audit", "airgap", "--bundle", str(bundle_dir("airgap")), "--project", str(project), env=TODAY)
    assert result.returncode == 2 and "auditSuppressions[0].expires" in result.stderr and "Traceback" not in result.stderr


def test_same_input_gives_byte_identical_reports(bundle_dir, tmp_path):
    for attempt in range(2):
        result = run_cli("audit", "prod", "--bundle", str(bundle_dir("prod")), "--format", "sarif", "--output", str(tmp_path / f"{attempt}.sarif"), env=TODAY)
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "0.sarif").read_bytes() == (tmp_path / "1.sarif").read_bytes()
