"""Decorators that turn a check function into a registered rule (each rule written once)."""

from __future__ import annotations

from typing import Callable, Iterable

from policy.model import Problem, ResourceCheck, Rule, Severity, StackCheck, Violation

REGISTRY: list[Rule] = []


def resource_rule(
    id: str,
    title: str,
    severity: Severity,
    rationale: str,
    types: Iterable[str],
    checkov: tuple[str, ...] = (),
    cdk_nag: tuple[str, ...] = (),
) -> Callable[[ResourceCheck], ResourceCheck]:
    def register(check: ResourceCheck) -> ResourceCheck:
        REGISTRY.append(Rule(id, title, severity, rationale, checkov, cdk_nag, tuple(types), resource_check=check))
        return check

    return register


def stack_rule(
    id: str,
    title: str,
    severity: Severity,
    rationale: str,
    checkov: tuple[str, ...] = (),
    cdk_nag: tuple[str, ...] = (),
) -> Callable[[StackCheck], StackCheck]:
    def register(check: StackCheck) -> StackCheck:
        REGISTRY.append(Rule(id, title, severity, rationale, checkov, cdk_nag, stack_check=check))
        return check

    return register


__all__ = ["REGISTRY", "Problem", "Violation", "resource_rule", "stack_rule"]
