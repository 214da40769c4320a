"""Report renderers: table (terminal), json, sarif (2.1.0), junit (XML), html (self-contained).

Every renderer is a pure function of the report: no timestamps, no absolute paths, sorted
keys, so the same bundle and config give byte-identical output.
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable

import jinja2
from rich.console import Console
from rich.table import Table

from airlock.audit.report import AuditReport
from airlock.audit.suppressions import EXPIRED_RULE_ID, EXPIRED_TITLE

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_LEVEL = {"high": "error", "medium": "warning", "low": "note"}
TOOL_URI = "https://github.com/airlock/airlock/blob/main/docs/auditors.md"
TEMPLATES = Path(__file__).parent / "templates"


def render_json(report: AuditReport) -> str:
    return json.dumps(report.as_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_table(report: AuditReport) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=160, no_color=True, highlight=False, soft_wrap=True)
    counts = report.counts()
    console.print(
        f"airlock audit {report.stack} ({report.platform}, {report.profile}): {len(report.rules)} rules, "
        f"{counts['high']} high, {counts['medium']} medium, {counts['low']} low, {len(report.suppressed)} suppressed"
    )
    if report.findings:
        table = Table(show_lines=False)
        for column in ("severity", "rule", "resource", "path", "finding"):
            table.add_column(column, overflow="fold")
        for f in report.findings:
            table.add_row(f.severity, f.rule_id, f.label, f.path, f.message)
        console.print(table)
    for s in report.suppressed:
        console.print(
            f"suppressed {s.finding.rule_id} on {s.finding.label} until {s.suppression.expires.isoformat()}: {s.suppression.reason}"
        )
    for u in report.unused:
        console.print(f"unused suppression {u.rule} on {u.resource} (matches no finding; remove it)")
    failing = report.failing()
    verdict = f"FAIL: {len(failing)} finding(s) at or above {report.fail_on}" if failing else f"PASS at --fail-on {report.fail_on}"
    console.print(verdict)
    return buffer.getvalue()


def _rule_descriptors(report: AuditReport) -> list[dict]:
    descriptors = []
    for rule in report.rules:
        mirrors = ", ".join(rule.checkov + rule.cdk_nag)
        descriptors.append(
            {
                "id": rule.id,
                "name": rule.id.replace("-", ""),
                "shortDescription": {"text": rule.title},
                "fullDescription": {"text": rule.rationale + (f" Mirrors: {mirrors}." if mirrors else "")},
                "defaultConfiguration": {"level": SARIF_LEVEL[rule.severity]},
                "helpUri": f"{TOOL_URI}#{rule.id.lower()}",
                "properties": {"severity": rule.severity, "scope": rule.scope, "checkov": list(rule.checkov), "cdkNag": list(rule.cdk_nag)},
            }
        )
    descriptors.append(
        {
            "id": EXPIRED_RULE_ID,
            "name": EXPIRED_RULE_ID.replace("-", ""),
            "shortDescription": {"text": EXPIRED_TITLE},
            "defaultConfiguration": {"level": "error"},
            "properties": {"severity": "high", "scope": "config"},
        }
    )
    return descriptors


def _sarif_result(finding, index: dict[str, int], suppression=None) -> dict:
    result = {
        "ruleId": finding.rule_id,
        "ruleIndex": index[finding.rule_id],
        "level": SARIF_LEVEL[finding.severity],
        "message": {"text": f"{finding.label}: {finding.message}"},
        "locations": [
            {
                "logicalLocations": [
                    {"name": finding.resource_name, "fullyQualifiedName": f"{finding.resource_key}#{finding.path}", "kind": "resource"}
                ],
                "physicalLocation": {"artifactLocation": {"uri": "resources.json", "uriBaseId": "BUNDLE"}},
            }
        ],
        "partialFingerprints": {"airlockFinding/v1": f"{finding.rule_id}|{finding.resource_key}|{finding.path}"},
        "properties": {"severity": finding.severity, "resourceType": finding.resource_type, "path": finding.path},
    }
    if suppression is not None:
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": f"{suppression.reason} (expires {suppression.expires.isoformat()})"}
        ]
    return result


def render_sarif(report: AuditReport) -> str:
    descriptors = _rule_descriptors(report)
    index = {d["id"]: i for i, d in enumerate(descriptors)}
    results = [_sarif_result(f, index) for f in report.findings]
    results += [_sarif_result(s.finding, index, s.suppression) for s in report.suppressed]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "airlock-audit", "informationUri": TOOL_URI, "rules": descriptors}},
                "originalUriBaseIds": {"BUNDLE": {"description": {"text": f"the synth bundle of stack {report.stack}"}}},
                "results": results,
                "properties": {"stack": report.stack, "platform": report.platform, "profile": report.profile, "failOn": report.fail_on},
            }
        ],
    }
    return json.dumps(log, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_junit(report: AuditReport) -> str:
    """One test case per rule (and per expired suppression); a failure element per finding at
    or above the threshold, so CI test dashboards show the gate's verdict."""
    failing = set(report.failing())
    suites = ET.Element("testsuites", name=f"airlock audit {report.stack}")
    by_rule: dict[str, list] = {}
    for finding in report.findings:
        by_rule.setdefault(finding.rule_id, []).append(finding)
    areas: dict[str, list] = {}
    for rule in report.rules:
        areas.setdefault(rule.area, []).append(rule)
    total_failures = 0
    for area, rules in sorted(areas.items()):
        suite = ET.SubElement(suites, "testsuite", name=f"{report.stack}.{area}")
        failures = 0
        for rule in rules:
            case = ET.SubElement(suite, "testcase", classname=f"airlock.{area}", name=f"{rule.id} {rule.title}")
            for finding in by_rule.get(rule.id, []):
                if finding in failing:
                    failures += 1
                    failure = ET.SubElement(case, "failure", type=finding.severity, message=f"{finding.label}: {finding.message}")
                    failure.text = f"{finding.resource_key} {finding.path}"
                else:
                    out = ET.SubElement(case, "system-out")
                    out.text = f"[{finding.severity}, below --fail-on {report.fail_on}] {finding.label}: {finding.message}"
        suite.set("tests", str(len(rules)))
        suite.set("failures", str(failures))
        total_failures += failures
    expired = by_rule.get(EXPIRED_RULE_ID, [])
    if expired:
        suite = ET.SubElement(suites, "testsuite", name=f"{report.stack}.AUDIT", tests=str(len(expired)), failures=str(len(expired)))
        for finding in expired:
            case = ET.SubElement(suite, "testcase", classname="airlock.AUDIT", name=f"{EXPIRED_RULE_ID} {finding.path}")
            ET.SubElement(case, "failure", type="high", message=finding.message)
        total_failures += len(expired)
    suites.set("tests", str(len(report.rules) + len(expired)))
    suites.set("failures", str(total_failures))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def render_html(report: AuditReport) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    failing = set(report.failing())
    return environment.get_template("audit.html.j2").render(report=report, counts=report.counts(), failing=failing)


RENDERERS: dict[str, Callable[[AuditReport], str]] = {
    "table": render_table,
    "json": render_json,
    "sarif": render_sarif,
    "junit": render_junit,
    "html": render_html,
}
