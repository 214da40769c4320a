"""Agent specs (in ConfigMaps) and the egress proxy's allowlists (squid.conf in a ConfigMap)."""

from __future__ import annotations

import math
import re
from typing import Any

from airlock.diff.model import Classified, Effect
from policy.bundle import _as_agent_spec
from runtime.hosts import is_local_or_cluster

POLICY_RANK = {"deny": 0, "ask": 1, "allow": 2}
# Defaults the runtime applies when a budget key is absent (runtime/spec.py Budgets); null is unbounded.
BUDGET_DEFAULTS = {"maxSteps": 25, "maxInputTokens": None, "maxOutputTokens": None, "maxCostUsd": None, "maxSeconds": 3600}
ACL = re.compile(r"^\s*acl\s+(\S+)\s+(dstdomain|dst|port)\s+(.*)$")


def _tools(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(t.get("name")): t for t in spec.get("tools") or [] if isinstance(t, dict)}


def _budget(spec: dict[str, Any], key: str) -> float:
    budgets = spec.get("budgets")
    value = budgets.get(key, BUDGET_DEFAULTS[key]) if isinstance(budgets, dict) else BUDGET_DEFAULTS[key]
    return math.inf if value is None else float(value)


def classify_agent_spec(path: str, old: dict[str, Any], new: dict[str, Any]) -> list[Classified]:
    found: list[Classified] = []
    old_tools, new_tools = _tools(old), _tools(new)
    for name in sorted(set(old_tools) | set(new_tools)):
        before = POLICY_RANK.get(str((old_tools.get(name) or {}).get("policy", "deny")), 0)
        after = POLICY_RANK.get(str((new_tools.get(name) or {}).get("policy", "deny")), 0)
        was = "not listed (denied)" if name not in old_tools else old_tools[name].get("policy")
        now = "not listed (denied)" if name not in new_tools else new_tools[name].get("policy")
        if after > before:
            area = "approvals" if before == 1 else "agent-tools"
            found.append(Classified(f"{path}:tools.{name}", "broadening", area, f"tool {name}: {was} -> {now}"))
        elif after < before:
            found.append(Classified(f"{path}:tools.{name}", "narrowing", "agent-tools", f"tool {name}: {was} -> {now}"))
        old_secrets = set((old_tools.get(name) or {}).get("secrets") or [])
        for secret in sorted(set((new_tools.get(name) or {}).get("secrets") or []) - old_secrets):
            found.append(Classified(f"{path}:tools.{name}.secrets", "broadening", "secret-readers", f"tool {name} now receives secret {secret}"))
    for key in BUDGET_DEFAULTS:
        a, b = _budget(old, key), _budget(new, key)
        if b > a:
            found.append(Classified(f"{path}:budgets.{key}", "broadening", "budgets", f"budget {key} raised: {a:g} -> {b:g}"))
        elif b < a:
            found.append(Classified(f"{path}:budgets.{key}", "narrowing", "budgets", f"budget {key} lowered: {a:g} -> {b:g}"))
    old_hook = (old.get("approvals") or {}).get("webhookUrl") if isinstance(old.get("approvals"), dict) else None
    new_hook = (new.get("approvals") or {}).get("webhookUrl") if isinstance(new.get("approvals"), dict) else None
    if old_hook and not new_hook:
        found.append(Classified(f"{path}:approvals.webhookUrl", "broadening", "approvals", "approvers are no longer notified"))
    for route in sorted(set((new.get("models") or {}))):
        before_url = str(((old.get("models") or {}).get(route) or {}).get("baseUrl", ""))
        after_url = str(((new.get("models") or {}).get(route) or {}).get("baseUrl", ""))
        if after_url != before_url and not is_local_or_cluster(after_url) and (not before_url or is_local_or_cluster(before_url)):
            found.append(Classified(f"{path}:models.{route}.baseUrl", "broadening", "agent-tools", f"route {route} now leaves the cluster ({after_url})"))
    if (new.get("telemetry") or {}).get("captureContent") is True and (old.get("telemetry") or {}).get("captureContent") is not True:
        found.append(Classified(f"{path}:telemetry.captureContent", "broadening", "agent-tools", "message content now captured in traces"))
    return found


def _acls(text: str) -> tuple[set[tuple[str, str]], set[str]]:
    entries: set[tuple[str, str]] = set()
    negated = set(re.findall(r"!(\w+)", "\n".join(l for l in text.splitlines() if l.strip().startswith("http_access"))))
    for line in text.splitlines():
        match = ACL.match(line)
        if match:
            for value in match.group(3).split():
                if value != "-n":
                    entries.add((match.group(1), value))
    return entries, negated


def classify_config_text(path: str, old: Any, new: Any) -> list[Classified] | None:
    """Classify a ConfigMap value: an agent spec or a proxy config; None when neither."""
    old_spec, new_spec = _as_agent_spec(old), _as_agent_spec(new)
    if old_spec is not None and new_spec is not None:
        if old_spec == new_spec:
            return [Classified(path, "neutral", "agent-tools", "comments or formatting only")]
        return classify_agent_spec(path, old_spec, new_spec)
    if isinstance(old, str) and isinstance(new, str) and "http_access" in old + new:
        (before, negated_before), (after, negated_after) = _acls(old), _acls(new)
        negated = negated_before | negated_after
        found: list[Classified] = []
        for acl, value in sorted(after - before):
            effect: Effect = "narrowing" if acl in negated else "broadening"
            found.append(Classified(path, effect, "sandbox-allowlist", f"proxy acl {acl} {'blocks' if acl in negated else 'allows'} {value}"))
        for acl, value in sorted(before - after):
            effect = "broadening" if acl in negated else "narrowing"
            found.append(Classified(path, effect, "sandbox-allowlist", f"proxy acl {acl} no longer {'blocks' if acl in negated else 'allows'} {value}"))
        return found
    return None
