"""The audit report: what was checked, what was found, what was suppressed and why."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from airlock.audit.suppressions import Outcome, Suppressed, apply
from components.config.schema import AuditSuppressionConfig
from policy import AuditBundle, Finding, Rule, run_rules
from policy.model import SEVERITY_RANK
from policy.rules import RULES


@dataclass(frozen=True)
class AuditReport:
    stack: str
    platform: str
    profile: str
    rules: tuple[Rule, ...]
    findings: list[Finding]
    suppressed: list[Suppressed]
    unused: list[AuditSuppressionConfig]
    fail_on: str

    def failing(self) -> list[Finding]:
        threshold = SEVERITY_RANK[self.fail_on]
        return [f for f in self.findings if SEVERITY_RANK[f.severity] >= threshold]

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for f in self.findings if f.severity == s) for s in ("high", "medium", "low")}

    def as_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "platform": self.platform,
            "profile": self.profile,
            "failOn": self.fail_on,
            "passed": not self.failing(),
            "rulesChecked": len(self.rules),
            "counts": self.counts(),
            "findings": [f.as_dict() for f in self.findings],
            "suppressed": [
                {**s.finding.as_dict(), "reason": s.suppression.reason, "expires": s.suppression.expires.isoformat()}
                for s in self.suppressed
            ],
            "unusedSuppressions": [
                {"rule": s.rule, "resource": s.resource, "reason": s.reason, "expires": s.expires.isoformat()} for s in self.unused
            ],
        }


def audit_bundle(
    bundle: AuditBundle,
    suppressions: list[AuditSuppressionConfig],
    fail_on: str,
    today: datetime.date,
    stack: str = "",
) -> AuditReport:
    outcome: Outcome = apply(run_rules(bundle), suppressions, {r.id for r in RULES}, today)
    return AuditReport(
        stack=stack or bundle.stack,
        platform=bundle.platform,
        profile=bundle.profile,
        rules=RULES,
        findings=outcome.active,
        suppressed=outcome.suppressed,
        unused=outcome.unused,
        fail_on=fail_on,
    )
