"""Reading AWS policy documents wherever they are (role trust and inline policies, key,
bucket, repository and endpoint policies): inputs that are JSON with a Statement list."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator

from policy.model import Resource


@dataclass(frozen=True)
class Statement:
    path: str
    body: dict[str, Any]

    @property
    def effect(self) -> str:
        return str(self.body.get("Effect", ""))

    @property
    def actions(self) -> list[str]:
        return [str(a) for a in as_list(self.body.get("Action"))]

    @property
    def resources(self) -> list[str]:
        return [str(a) for a in as_list(self.body.get("Resource"))]

    @property
    def condition(self) -> dict[str, Any]:
        condition = self.body.get("Condition")
        return condition if isinstance(condition, dict) else {}

    def principals(self) -> list[str]:
        principal = self.body.get("Principal")
        if principal == "*":
            return ["*"]
        if isinstance(principal, dict):
            return [str(p) for value in principal.values() for p in as_list(value)]
        return []


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def parse_document(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict) and "Statement" in value:
        return value
    if not isinstance(value, str) or not value.lstrip().startswith("{"):
        return None
    try:
        document = json.loads(value)
    except json.JSONDecodeError:
        return None
    return document if isinstance(document, dict) and "Statement" in document else None


def statements(resource: Resource, field: str) -> Iterator[Statement]:
    document = parse_document(resource.inputs.get(field))
    if document is None:
        return
    for index, body in enumerate(as_list(document.get("Statement"))):
        if isinstance(body, dict):
            yield Statement(f"{field}.Statement[{index}]", body)


def action_matches(pattern: str, action: str) -> bool:
    """IAM-style match of an action against a pattern with ``*`` wildcards (case-insensitive)."""
    import fnmatch

    return fnmatch.fnmatchcase(action.lower(), pattern.lower())
