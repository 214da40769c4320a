"""What a rule is and what it reports.

A rule is written once and used three ways: by ``airlock audit`` over a bundle on disk, by
``airlock diff`` (new findings between two refs) and by the CrossGuard pack (``__main__.py``).
Resource rules look at one resource (type, logical name, inputs) so the pack can run them
as resource policies; stack rules need several resources (a bucket and its public-access
block, a namespace and its NetworkPolicies, an agent spec and the stack's profile) and run
as stack policies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Literal

if TYPE_CHECKING:
    from policy.bundle import AuditBundle

Severity = Literal["high", "medium", "low"]
SEVERITIES: tuple[Severity, ...] = ("high", "medium", "low")
SEVERITY_RANK: dict[str, int] = {"low": 1, "medium": 2, "high": 3}


@dataclass(frozen=True)
class Resource:
    """One resource as the engine sees it: type token, logical name, inputs (camelCase)."""

    type: str
    name: str
    inputs: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.type}::{self.name}"

    @property
    def is_kubernetes(self) -> bool:
        return self.type.startswith("kubernetes:") and isinstance(self.inputs.get("kind"), str)

    @property
    def kind(self) -> str:
        return str(self.inputs.get("kind", "")) if self.is_kubernetes else ""

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.inputs.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def namespace(self) -> str | None:
        return self.metadata.get("namespace")

    @property
    def label(self) -> str:
        """How a person names it: ``Deployment airlock-models/vllm`` or the logical name."""
        if self.is_kubernetes:
            where = f"{self.namespace}/" if self.namespace else ""
            return f"{self.kind} {where}{self.metadata.get('name', self.name)}"
        return self.name


@dataclass(frozen=True)
class Problem:
    """A resource rule's complaint about one resource: where (property path) and what."""

    path: str
    message: str


@dataclass(frozen=True)
class Violation:
    """A stack rule's complaint: which resource, where, what."""

    resource: Resource
    path: str
    message: str


ResourceCheck = Callable[[Resource], Iterable[Problem]]
StackCheck = Callable[["AuditBundle"], Iterable[Violation]]


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: Severity
    rationale: str
    checkov: tuple[str, ...] = ()
    cdk_nag: tuple[str, ...] = ()
    # Resource rules: the type tokens they apply to and a check of one resource.
    types: tuple[str, ...] = ()
    resource_check: ResourceCheck | None = None
    # Stack rules: a check over the whole bundle.
    stack_check: StackCheck | None = None

    def __post_init__(self) -> None:
        if (self.resource_check is None) == (self.stack_check is None):
            raise ValueError(f"rule {self.id}: give exactly one of resource_check or stack_check")

    @property
    def area(self) -> str:
        return self.id.split("-")[1]

    @property
    def scope(self) -> str:
        return "resource" if self.resource_check is not None else "stack"

    def applies_to(self, resource: Resource) -> bool:
        return resource.type in self.types or any(t.endswith(":*") and resource.type.startswith(t[:-1]) for t in self.types)

    def run(self, bundle: "AuditBundle") -> list["Finding"]:
        found: list[Finding] = []
        if self.resource_check is not None:
            for resource in bundle.resources:
                if self.applies_to(resource):
                    found.extend(Finding.of(self, Violation(resource, p.path, p.message)) for p in self.resource_check(resource))
        else:
            assert self.stack_check is not None
            found.extend(Finding.of(self, v) for v in self.stack_check(bundle))
        return found


@dataclass(frozen=True, order=True)
class Finding:
    rule_id: str
    resource_type: str
    resource_name: str
    path: str
    message: str
    severity: Severity = field(compare=False)
    title: str = field(compare=False)
    label: str = field(compare=False)

    @classmethod
    def of(cls, rule: Rule, violation: Violation) -> "Finding":
        r = violation.resource
        return cls(rule.id, r.type, r.name, violation.path, violation.message, rule.severity, rule.title, r.label)

    @property
    def resource_key(self) -> str:
        return f"{self.resource_type}::{self.resource_name}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "severity": self.severity,
            "title": self.title,
            "resourceType": self.resource_type,
            "resourceName": self.resource_name,
            "resource": self.label,
            "path": self.path,
            "message": self.message,
        }
