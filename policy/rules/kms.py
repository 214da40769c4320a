"""KMS keys: rotation, key policies, deletion window."""

from __future__ import annotations

from typing import Iterator

from policy.awsdocs import statements
from policy.model import Problem, Resource
from policy.rules.define import resource_rule

KMS_KEY = "aws:kms/key:Key"

@resource_rule(
    "AIRLOCK-KMS-001",
    "KMS keys rotate automatically",
    "medium",
    "Rotation limits how much data one key version protects; it costs nothing and is off by default.",
    [KMS_KEY],
    checkov=("CKV_AWS_7",),
)
def key_rotation(resource: Resource) -> Iterator[Problem]:
    spec = str(resource.inputs.get("customerMasterKeySpec") or resource.inputs.get("keySpec") or "SYMMETRIC_DEFAULT")
    if spec == "SYMMETRIC_DEFAULT" and resource.inputs.get("enableKeyRotation") is not True:
        yield Problem("enableKeyRotation", "automatic key rotation is off")


@resource_rule(
    "AIRLOCK-KMS-002",
    "Key policies name their principals",
    "high",
    "An Allow to Principal '*' without a condition lets any AWS account use or manage the key.",
    [KMS_KEY],
)
def key_policy_principals(resource: Resource) -> Iterator[Problem]:
    for statement in statements(resource, "policy"):
        if statement.effect == "Allow" and "*" in statement.principals() and not statement.condition:
            yield Problem(f"{statement.path}.Principal", "any principal may use this key")


@resource_rule(
    "AIRLOCK-KMS-003",
    "Key deletion has a waiting period of at least 14 days",
    "low",
    "A short deletion window leaves little time to notice a scheduled deletion that would make encrypted data unreadable forever.",
    [KMS_KEY],
)
def deletion_window(resource: Resource) -> Iterator[Problem]:
    days = resource.inputs.get("deletionWindowInDays", 30)
    if isinstance(days, (int, float)) and days < 14:
        yield Problem("deletionWindowInDays", f"deletion window of {days} days (needs at least 14)")
