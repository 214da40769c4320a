"""Report formats: SARIF validated against the vendored 2.1.0 schema, JUnit as CI parsers
read it, the HTML report in headless Chromium with no external requests; every format
byte-identical for the same input."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from mutations import MUTATIONS
from reports import mutated_bundle, render, report_for

SCHEMA = Path(__file__).parent / "schemas" / "sarif-2.1.0-rtm.5.json"
SUPPRESS_PLUGIN = [
    {"rule": rule, "resource": "nvidia-device-plugin", "reason": "Device plugin needs the kubelet socket directory.", "expires": "2027-05-31"}
    for rule in ("AIRLOCK-K8S-004", "AIRLOCK-K8S-013", "AIRLOCK-K8S-018")
]


@pytest.fixture(scope="module")
def failing_report(bundle_dir, tmp_path_factory):
    """airgap with a privileged orchestrator (high) plus its shipped, suppressed findings."""
    target = mutated_bundle(bundle_dir("airgap"), tmp_path_factory.mktemp("failing"), MUTATIONS["AIRLOCK-K8S-001"][1])
    return report_for(target, SUPPRESS_PLUGIN)


@pytest.mark.parametrize("report_format", ["table", "json", "sarif", "junit", "html"])
def test_byte_identical(report_format, failing_report, bundle_dir):
    again = report_for(bundle_dir("airgap"), SUPPRESS_PLUGIN)
    assert render(failing_report, report_format) == render(failing_report, report_format)
    assert render(again, report_format) == render(report_for(bundle_dir("airgap"), SUPPRESS_PLUGIN), report_format)


def test_sarif_is_valid_2_1_0_with_findings_and_suppressions(failing_report):
    log = json.loads(render(failing_report, "sarif"))
    jsonschema.validate(log, json.loads(SCHEMA.read_text()))
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    privileged = [r for r in results if r["ruleId"] == "AIRLOCK-K8S-001"]
    assert privileged and privileged[0]["level"] == "error" and "suppressions" not in privileged[0]
    assert rules[privileged[0]["ruleIndex"]]["id"] == "AIRLOCK-K8S-001"
    suppressed = [r for r in results if "suppressions" in r]
    assert {r["ruleId"] for r in suppressed} == {"AIRLOCK-K8S-004", "AIRLOCK-K8S-013", "AIRLOCK-K8S-018"}
    assert all(s["suppressions"][0]["status"] == "accepted" for s in suppressed)


def test_sarif_schema_rejects_a_broken_log(failing_report):
    log = json.loads(render(failing_report, "sarif"))
    del log["runs"][0]["tool"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(log, json.loads(SCHEMA.read_text()))


def test_junit_reports_failures_per_rule(failing_report):
    root = ET.fromstring(render(failing_report, "junit"))
    assert root.tag == "testsuites" and int(root.get("tests")) == len(failing_report.rules)
    failures = root.findall(".//testcase/failure")
    assert int(root.get("failures")) == len(failures) >= 1
    case = next(c for c in root.iter("testcase") if c.get("name").startswith("AIRLOCK-K8S-001 "))
    assert "is privileged" in case.find("failure").get("message")


def test_html_report_in_chromium(failing_report, tmp_path):
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "audit.html"
    page_file.write_text(render(failing_report, "html"))
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        try:
            page = browser.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.goto(page_file.as_uri())
            assert page.title() == "Airlock audit: airgap"
            assert page.locator("#verdict").inner_text().startswith("FAIL: 1 finding(s) at or above high")
            row = page.locator("tr.finding[data-rule='AIRLOCK-K8S-001']")
            assert row.count() == 1 and "is privileged" in row.inner_text()
            assert page.locator("tr.suppressed").count() == 3
            assert "Device plugin needs the kubelet socket directory." in page.locator("#suppressed").inner_text()
            assert page.locator("#rules tbody tr").count() == len(failing_report.rules)
            # The rule link in a finding jumps to the rule's row.
            row.locator("a").click()
            assert page.url.endswith("#airlock-k8s-001")
        finally:
            browser.close()
    assert requests == [page_file.as_uri()], f"the report loaded external assets: {requests}"
