"""Suppressions from ``airlock:auditSuppressions``: honoured until their expiry date, listed
in every report with their reason; an expired one no longer hides its finding and is a
finding itself (AIRLOCK-AUDIT-001)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from components.config.schema import AuditSuppressionConfig
from policy.model import Finding

EXPIRED_RULE_ID = "AIRLOCK-AUDIT-001"
EXPIRED_TITLE = "Audit suppressions are renewed before they expire"


class SuppressionError(Exception):
    """A suppression names a rule that does not exist."""


@dataclass(frozen=True)
class Suppressed:
    finding: Finding
    suppression: AuditSuppressionConfig


@dataclass(frozen=True)
class Outcome:
    active: list[Finding]
    suppressed: list[Suppressed]
    unused: list[AuditSuppressionConfig]


def matches(suppression: AuditSuppressionConfig, finding: Finding) -> bool:
    return suppression.rule == finding.rule_id and suppression.resource in (finding.resource_name, finding.resource_key, "*")


def apply(findings: list[Finding], suppressions: list[AuditSuppressionConfig], known_rules: set[str], today: datetime.date) -> Outcome:
    for index, suppression in enumerate(suppressions):
        if suppression.rule not in known_rules:
            raise SuppressionError(
                f"airlock:auditSuppressions[{index}].rule: {suppression.rule!r} is not a rule id; see docs/auditors.md for the list"
            )
    live = [s for s in suppressions if s.expires >= today]
    expired = [s for s in suppressions if s.expires < today]
    active: list[Finding] = []
    suppressed: list[Suppressed] = []
    for finding in findings:
        match = next((s for s in live if matches(s, finding)), None)
        if match is None:
            active.append(finding)
        else:
            suppressed.append(Suppressed(finding, match))
    for suppression in expired:
        active.append(
            Finding(
                EXPIRED_RULE_ID,
                "airlock:config",
                "auditSuppressions",
                f"{suppression.rule} {suppression.resource}",
                f"suppression of {suppression.rule} on {suppression.resource} expired on {suppression.expires.isoformat()} "
                f"(reason was: {suppression.reason})",
                "high",
                EXPIRED_TITLE,
                "stack config airlock:auditSuppressions",
            )
        )
    unused = [s for s in live if not any(matches(s, f) for f in findings)]
    return Outcome(sorted(active), sorted(suppressed, key=lambda s: s.finding), unused)
