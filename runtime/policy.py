"""Permission policy for a tool call: allow, ask or deny. Unknown tools are denied."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    ALLOW = "allow"
    ASK = "ask"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    reason: str


def decide(tool_name: str, policies: Mapping[str, str]) -> Decision:
    """`policies` maps every tool in the spec to its policy."""
    policy = policies.get(tool_name)
    if policy is None:
        known = ", ".join(sorted(policies)) or "(none)"
        return Decision(
            Action.DENY,
            f"tool {tool_name!r} is not in the agent spec (unknown tools are denied); available tools: {known}",
        )
    action = Action(policy)
    if action is Action.DENY:
        return Decision(action, f"tool {tool_name!r} is denied by policy")
    if action is Action.ASK:
        return Decision(action, f"tool {tool_name!r} requires human approval (policy: ask)")
    return Decision(action, f"tool {tool_name!r} is allowed by policy")
