"""Airlock's security rules, written once: used by ``airlock audit``, ``airlock diff`` and
the CrossGuard policy pack in this directory (``pulumi preview --policy-pack policy``)."""

from __future__ import annotations

from policy.bundle import AuditBundle, BundleError
from policy.model import SEVERITY_RANK, Finding, Resource, Rule


def run_rules(bundle: AuditBundle, rules: tuple[Rule, ...] | None = None) -> list[Finding]:
    """Every finding of every rule, sorted (rule id, resource, path): deterministic."""
    from policy.rules import RULES

    found: list[Finding] = []
    for rule in rules if rules is not None else RULES:
        found.extend(rule.run(bundle))
    return sorted(set(found))


__all__ = ["AuditBundle", "BundleError", "Finding", "Resource", "Rule", "SEVERITY_RANK", "run_rules"]
