"""The rules as CrossGuard policies: resource rules become ResourceValidationPolicies, stack
rules (those that need several resources, the manifests or the agent specs) become
StackValidationPolicies over every resource the engine reports.

Suppressions are not applied here: under ``pulumi preview`` the engine's own mechanisms
(enforcement levels, policy config) decide; ``airlock audit`` applies the stack's list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from policy.bundle import AuditBundle
from policy.model import Resource, Rule, Violation

PACK_NAME = "airlock"


def violation_text(label: str, path: str, message: str) -> str:
    """The text of one violation: the same for the pack and for ``airlock audit``."""
    where = f" at {path}" if path else ""
    return f"{label}{where}: {message}"


def plain(value: Any) -> Any:
    """Engine property values as JSON-like Python: the SDK's read-only mapping and sequence
    proxies copied to dicts and lists, integral
    floats (protobuf Struct has only doubles) back to ints, as in resources.json."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _resource_validate(rule: Rule):
    def validate(args, report_violation) -> None:
        resource = Resource(args.resource_type, args.name, plain(args.props))
        if not rule.applies_to(resource):
            return
        assert rule.resource_check is not None
        for problem in rule.resource_check(resource):
            report_violation(violation_text(resource.label, problem.path, problem.message), None)

    return validate


def _stack_validate(rule: Rule):
    def validate(args, report_violation) -> None:
        resources = [Resource(r.resource_type, r.name, plain(r.props)) for r in args.resources]
        urns = {(r.resource_type, r.name): r.urn for r in args.resources}
        assert rule.stack_check is not None
        for violation in rule.stack_check(AuditBundle.from_resources(resources)):
            report_violation(_text(violation), urns.get((violation.resource.type, violation.resource.name)))

    return validate


def _text(violation: Violation) -> str:
    return violation_text(violation.resource.label, violation.path, violation.message)


def build_policies(rules: tuple[Rule, ...]) -> list[Any]:
    from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity, StackValidationPolicy

    policies: list[Any] = []
    for rule in rules:
        level = EnforcementLevel.MANDATORY if rule.severity == "high" else EnforcementLevel.ADVISORY
        common = dict(
            name=rule.id,
            description=rule.title,
            enforcement_level=level,
            severity=Severity(rule.severity),
            remediation_steps=rule.rationale,
            tags=[rule.area, *rule.checkov, *rule.cdk_nag],
        )
        if rule.resource_check is not None:
            policies.append(ResourceValidationPolicy(validate=_resource_validate(rule), **common))
        else:
            policies.append(StackValidationPolicy(validate=_stack_validate(rule), **common))
    return policies
