"""Every Airlock rule, in id order. Importing the area modules registers their rules."""

from __future__ import annotations

from policy.model import Rule
from policy.rules import agents, ecr, eks, iam, kms, network, s3, sandbox, secretsmanager, stores, workloads  # noqa: F401 (registration)
from policy.rules.define import REGISTRY

RULES: tuple[Rule, ...] = tuple(sorted(REGISTRY, key=lambda rule: rule.id))
RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}

if len(RULES_BY_ID) != len(RULES):
    raise RuntimeError("two rules share an id")
