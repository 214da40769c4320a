"""IAM documents anywhere (identity, trust, key, bucket, repository, endpoint policies):
which grants appear or disappear, with wildcard and condition coverage; managed-policy
attachments; who may read which secret."""

from __future__ import annotations

import fnmatch
import json
from typing import Any, Iterator

from airlock.diff.model import Classified
from policy.awsdocs import as_list, parse_document

SECRET_ACTIONS = ("secretsmanager:getsecretvalue", "kms:decrypt")
Grant = tuple[str, str, str, frozenset]


def _documents(inputs: dict[str, Any] | None, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(inputs, dict):
        for key, value in inputs.items():
            yield from _documents(value, f"{path}.{key}" if path else key)
    elif isinstance(inputs, list):
        for index, value in enumerate(inputs):
            yield from _documents(value, f"{path}[{index}]")
    else:
        document = parse_document(inputs)
        if document is not None:
            yield path, document


def _conditions(statement: dict[str, Any]) -> frozenset:
    condition = statement.get("Condition") or {}
    return frozenset(
        (operator, key, json.dumps(value, sort_keys=True))
        for operator, pairs in condition.items()
        if isinstance(pairs, dict)
        for key, value in pairs.items()
    )


def grants(document: dict[str, Any], effect: str) -> set[Grant]:
    found: set[Grant] = set()
    for statement in as_list(document.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != effect:
            continue
        principal = statement.get("Principal")
        principals = ["*"] if principal == "*" else [str(p) for v in (principal or {}).values() for p in as_list(v)] if isinstance(principal, dict) else ["(attached identity)"]
        actions = [str(a) for a in as_list(statement.get("Action"))] or [f"NOT {a}" for a in as_list(statement.get("NotAction"))]
        resources = [str(r) for r in as_list(statement.get("Resource"))] or ["*"]
        conditions = _conditions(statement)
        for p in principals:
            for a in actions:
                for r in resources:
                    found.add((p, a, r, conditions))
    return found


def _covers(wide: Grant, narrow: Grant) -> bool:
    return (
        fnmatch.fnmatchcase(narrow[0].lower(), wide[0].lower())
        and fnmatch.fnmatchcase(narrow[1].lower(), wide[1].lower())
        and fnmatch.fnmatchcase(narrow[2], wide[2])
        and wide[3] <= narrow[3]
    )


def _uncovered(candidates: set[Grant], reference: set[Grant]) -> list[Grant]:
    return sorted(g for g in candidates if not any(_covers(r, g) for r in reference))


def _describe(grant: Grant) -> str:
    who = "" if grant[0] == "(attached identity)" else f" to {grant[0]}"
    when = f" when {', '.join(f'{k} {op}' for op, k, _ in sorted(grant[3]))}" if grant[3] else ""
    return f"{grant[1]} on {grant[2]}{who}{when}"


def _area(field: str, resource_type: str, grant: Grant) -> str:
    if any(fnmatch.fnmatchcase(action, grant[1].lower()) for action in SECRET_ACTIONS):
        return "secret-readers"
    if resource_type == "aws:ec2/vpcEndpoint:VpcEndpoint":
        return "endpoint-policy"
    if "assumeRole" in field:
        return "iam-principals"
    return "iam"


def classify(resource_type: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[Classified]:
    old_docs = dict(_documents(old))
    new_docs = dict(_documents(new))
    found: list[Classified] = []
    for field in sorted(set(old_docs) | set(new_docs)):
        before, after = old_docs.get(field, {}), new_docs.get(field, {})
        if before == after:
            continue
        old_allow, new_allow = grants(before, "Allow"), grants(after, "Allow")
        for grant in _uncovered(new_allow, old_allow):
            found.append(Classified(field, "broadening", _area(field, resource_type, grant), f"now allows {_describe(grant)}"))
        for grant in _uncovered(old_allow, new_allow):
            found.append(Classified(field, "narrowing", _area(field, resource_type, grant), f"no longer allows {_describe(grant)}"))
        old_deny, new_deny = grants(before, "Deny"), grants(after, "Deny")
        for grant in sorted(old_deny - new_deny):
            found.append(Classified(field, "broadening", "iam-conditions", f"no longer denies {_describe(grant)}"))
        for grant in sorted(new_deny - old_deny):
            found.append(Classified(field, "narrowing", "iam-conditions", f"now denies {_describe(grant)}"))
    if resource_type.startswith("aws:iam/") and "Attachment" in resource_type:
        old_arn, new_arn = (old or {}).get("policyArn"), (new or {}).get("policyArn")
        if new_arn and new_arn != old_arn:
            found.append(Classified("policyArn", "broadening", "iam", f"attaches managed policy {new_arn}"))
        if old_arn and new_arn != old_arn:
            found.append(Classified("policyArn", "narrowing", "iam", f"detaches managed policy {old_arn}"))
    return found
