"""Audit reports built in-process (the same functions the CLI calls), for format tests."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from airlock.audit.formats import RENDERERS
from airlock.audit.report import AuditReport, audit_bundle
from components.config.schema import AuditSuppressionConfig
from policy import AuditBundle

TODAY = datetime.date(2026, 11, 29)


def mutated_bundle(base: Path, target: Path, mutate) -> Path:
    document = json.loads((base / "resources.json").read_text())
    mutate(document)
    target.mkdir(parents=True, exist_ok=True)
    (target / "resources.json").write_text(json.dumps(document))
    return target


def report_for(directory: Path, suppressions: list[dict] | None = None, fail_on: str = "high") -> AuditReport:
    parsed = [AuditSuppressionConfig.model_validate(s) for s in suppressions or []]
    return audit_bundle(AuditBundle.from_directory(directory), parsed, fail_on, TODAY)


def render(report: AuditReport, report_format: str) -> str:
    return RENDERERS[report_format](report)
