"""``airlock diff`` output: text (terminal), markdown (a pull-request comment), json."""

from __future__ import annotations

import json
from typing import Callable

from airlock.diff.command import DiffReport
from airlock.diff.model import ResourceChange

MARK = {"broadening": "BROADENS", "narrowing": "narrows", "neutral": "neutral"}
MAX_MARKDOWN_ROWS = 60


def _summary(report: DiffReport) -> str:
    counts = {a: sum(1 for c in report.changes if c.action == a) for a in ("added", "removed", "changed")}
    broad = sum(1 for c in report.changes if c.effect == "broadening")
    return (
        f"{counts['added']} added, {counts['removed']} removed, {counts['changed']} changed; "
        f"{broad} broaden access; {len(report.secrets)} secret value(s) changed; {len(report.new_findings)} new audit finding(s)"
    )


def render_json(report: DiffReport) -> str:
    document = {
        "stack": report.stack,
        "base": report.base,
        "head": report.head,
        "broadens": report.broadens,
        "changes": [c.as_dict() for c in report.changes],
        "secretValues": [{"key": key, "change": change} for key, change in report.secrets],
        "newFindings": [f.as_dict() for f in report.new_findings],
        "resolvedFindings": [f.as_dict() for f in report.resolved_findings],
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _text_change(change: ResourceChange) -> list[str]:
    lines = [f"{'+' if change.action == 'added' else '-' if change.action == 'removed' else '~'} {change.label} ({change.type}) [{MARK[change.effect]}]"]
    for effect in change.effects:
        lines.append(f"    {MARK[effect.effect]:9} {effect.area}: {effect.detail}")
    for path in change.paths:
        lines.append(f"    {path.path}: {path.summary}")
    return lines


def render_text(report: DiffReport) -> str:
    lines = [f"airlock diff {report.stack}: {report.base} -> {report.head}", _summary(report)]
    for change in report.changes:
        lines += _text_change(change)
    for key, what in report.secrets:
        lines.append(f"~ secret value {key}: {what} (value not shown)")
    for finding in report.new_findings:
        lines.append(f"new finding {finding.rule_id} [{finding.severity}] {finding.label}: {finding.message}")
    for finding in report.resolved_findings:
        lines.append(f"resolved finding {finding.rule_id} {finding.label}")
    lines.append("BROADENS ACCESS (exit 3)" if report.broadens else "nothing broadens")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: DiffReport) -> str:
    verdict = ":warning: **This change broadens access.**" if report.broadens else ":white_check_mark: Nothing broadens access."
    lines = [f"### `airlock diff {report.stack}`: `{report.base}` → `{report.head}`", "", verdict, "", _summary(report), ""]
    effects = [(c, e) for c in report.changes for e in c.effects if e.effect != "neutral"]
    if effects:
        lines += ["| effect | class | resource | what |", "|---|---|---|---|"]
        ordered = sorted(effects, key=lambda ce: (ce[1].effect != "broadening", ce[1].area, ce[0].label))
        for change, effect in ordered[:MAX_MARKDOWN_ROWS]:
            lines.append(f"| {MARK[effect.effect]} | {effect.area} | `{_cell(change.label)}` | {_cell(effect.detail)} |")
        if len(ordered) > MAX_MARKDOWN_ROWS:
            lines.append(f"| … | | | {len(ordered) - MAX_MARKDOWN_ROWS} more (run `airlock diff --format text`) |")
        lines.append("")
    if report.secrets:
        lines += ["**Secret values changed** (values never shown): " + ", ".join(f"`{k}` ({w})" for k, w in report.secrets), ""]
    if report.new_findings:
        lines += ["**New audit findings**", ""]
        lines += [f"- `{f.rule_id}` ({f.severity}) `{_cell(f.label)}`: {_cell(f.message)}" for f in report.new_findings]
        lines.append("")
    if report.changes:
        lines += ["<details><summary>All resource changes</summary>", "", "```"]
        for change in report.changes:
            lines += _text_change(change)
        lines += ["```", "", "</details>"]
    return "\n".join(lines) + "\n"


RENDERERS: dict[str, Callable[[DiffReport], str]] = {"text": render_text, "markdown": render_markdown, "json": render_json}
