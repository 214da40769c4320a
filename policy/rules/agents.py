"""Agent specs the stack deploys (found in ConfigMaps): tool policies, budgets, approvals,
routes. Specs are read raw, so a spec the runtime would refuse is still judged."""

from __future__ import annotations

import re
from typing import Any, Iterator

from policy.bundle import AuditBundle
from policy.model import Violation
from policy.rules.define import stack_rule
from runtime.hosts import is_local_or_cluster

POLICIES = ("allow", "ask", "deny")
# Verbs that name a side effect: a tool whose name or function starts with one changes state.
STATE_CHANGING = re.compile(
    r"(^|[_\-.:])(create|update|delete|remove|drop|write|put|post|patch|send|email|refund|pay|charge|transfer|"
    r"deploy|apply|exec|execute|run|kill|cancel|approve|grant|revoke|set|insert|modify|upload|publish|purchase|order)",
    re.IGNORECASE,
)
BOUNDED = ("maxSteps", "maxSeconds")
SPEND = ("maxCostUsd", "maxOutputTokens")


def _tools(document: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    tools = document.get("tools") or []
    return [(i, t) for i, t in enumerate(tools) if isinstance(t, dict)] if isinstance(tools, list) else []


def changes_state(tool: dict[str, Any]) -> bool:
    function = str(tool.get("target", "")).rpartition(":")[2]
    return bool(STATE_CHANGING.search(str(tool.get("name", ""))) or STATE_CHANGING.search(function))


@stack_rule("AIRLOCK-AGT-001", "Every tool has an explicit policy (allow, ask or deny)", "high",
            "A tool without a policy leaves its permission to defaults and to whoever edits the spec next; the policy is the reviewable decision.")
def tool_policy(bundle: AuditBundle) -> Iterator[Violation]:
    for spec in bundle.agent_specs():
        for index, tool in _tools(spec.document):
            if tool.get("policy") not in POLICIES:
                yield Violation(spec.resource, f"{spec.path}:tools[{index}].policy", f"tool {tool.get('name')!r} has policy {tool.get('policy')!r} (allowed: allow, ask, deny)")


@stack_rule("AIRLOCK-AGT-002", "Budgets bound steps, time and spend", "medium",
            "An agent loop without a step, time and cost/token bound can run (and bill) forever; null disables a limit.")
def budgets(bundle: AuditBundle) -> Iterator[Violation]:
    for spec in bundle.agent_specs():
        limits = spec.document.get("budgets")
        limits = limits if isinstance(limits, dict) else {}
        for key in BOUNDED:
            if key in limits and limits[key] is None:
                yield Violation(spec.resource, f"{spec.path}:budgets.{key}", f"budgets.{key} is null (unbounded)")
        if not any(limits.get(key) is not None for key in SPEND):
            yield Violation(spec.resource, f"{spec.path}:budgets", "neither maxCostUsd nor maxOutputTokens bounds spend")


@stack_rule("AIRLOCK-AGT-003", "Tools that change state need a human approval", "high",
            "A tool named for a side effect (refund, delete, send, deploy, ...) with policy 'allow' acts on the model's word alone; 'ask' parks it for a person.")
def approvals(bundle: AuditBundle) -> Iterator[Violation]:
    for spec in bundle.agent_specs():
        for index, tool in _tools(spec.document):
            if tool.get("policy") == "allow" and changes_state(tool):
                yield Violation(spec.resource, f"{spec.path}:tools[{index}].policy", f"tool {tool.get('name')!r} changes state and runs without approval")


@stack_rule("AIRLOCK-AGT-004", "Airgapped stacks route only to in-cluster models", "high",
            "The airgapped profile promises no data leaves the cluster; a route to a public host sends every prompt out.")
def no_cloud_routes(bundle: AuditBundle) -> Iterator[Violation]:
    if bundle.profile != "airgapped":
        return
    for spec in bundle.agent_specs():
        models = spec.document.get("models") or {}
        for route_name, route in sorted(models.items() if isinstance(models, dict) else []):
            url = str((route or {}).get("baseUrl", "")) if isinstance(route, dict) else ""
            if not is_local_or_cluster(url):
                yield Violation(spec.resource, f"{spec.path}:models.{route_name}.baseUrl", f"route {route_name} goes to {url} outside the cluster")


@stack_rule("AIRLOCK-AGT-005", "Agents with 'ask' tools notify approvers", "low",
            "Without approvals.webhookUrl, parked tool calls wait silently until someone happens to look at the approvals page.")
def approval_channel(bundle: AuditBundle) -> Iterator[Violation]:
    for spec in bundle.agent_specs():
        asks = [t for _, t in _tools(spec.document) if t.get("policy") == "ask"]
        channel = (spec.document.get("approvals") or {}).get("webhookUrl") if isinstance(spec.document.get("approvals"), dict) else None
        if asks and not channel:
            yield Violation(spec.resource, f"{spec.path}:approvals.webhookUrl", f"{len(asks)} tool(s) need approval but nobody is notified")


@stack_rule("AIRLOCK-AGT-006", "Message content is not captured in telemetry", "medium",
            "Prompts and tool arguments carry customer data; exporting them to traces copies it to every telemetry backend.")
def no_content_capture(bundle: AuditBundle) -> Iterator[Violation]:
    for spec in bundle.agent_specs():
        telemetry = spec.document.get("telemetry")
        if isinstance(telemetry, dict) and telemetry.get("captureContent") is True:
            yield Violation(spec.resource, f"{spec.path}:telemetry.captureContent", "message content is captured on spans")
