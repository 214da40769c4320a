"""Turn a validated spec into the runnable parts of an agent.

Loading order matters for the user: tool targets first (a typo is a spec error with a
key path), then secrets (which may need the network), then API keys (a route's key may be
one of those secrets). Secrets and keys are resolved on every run and resume, never
stored, so a rotated credential is picked up by the next resume. Tools with policy
`deny` are never imported: code that can never run is not loaded, and it is not
advertised to the model either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runtime.budget import BudgetLimits
from runtime.models.base import ToolDefinition
from runtime.outbound import check_outbound_environment
from runtime.pricing import Price, price_for
from runtime.redact import Redactor
from runtime.router import Router, api_keys, build_router
from runtime.sandbox_tool import HTTP_MARGIN_SECONDS, SANDBOXES_ENV, build_sandbox_tool, configured_sandboxes
from runtime.secrets import resolve_secrets
from runtime.spec import AgentSpec, LoadedSpec, SpecError, SpecProblem, ToolSpec, current_profile
from runtime.tool_kinds import pool_of
from runtime.tool_timeout import DEFAULT_TIMEOUT_SECONDS
from runtime.tools import LoadedTool, ToolLoadError, build_tool, import_target


@dataclass
class Agent:
    loaded: LoadedSpec
    tools: dict[str, LoadedTool]
    policies: dict[str, str]
    definitions: list[ToolDefinition]
    router: Router
    secrets: dict[str, str]
    redactor: Redactor
    limits: BudgetLimits
    prices: dict[str, Price]
    tool_timeouts: dict[str, float] = field(default_factory=dict)

    @property
    def spec(self) -> AgentSpec:
        return self.loaded.spec

    @property
    def name(self) -> str:
        return self.loaded.spec.name

    @property
    def version(self) -> str:
        return self.loaded.version

    def close(self) -> None:
        self.router.close()


def load_tools(loaded: LoadedSpec, sandboxes: Mapping[str, str] | None = None) -> dict[str, LoadedTool]:
    tools: dict[str, LoadedTool] = {}
    problems: list[SpecProblem] = []
    executors = configured_sandboxes() if sandboxes is None else sandboxes
    for index, tool_spec in enumerate(loaded.spec.tools):
        if tool_spec.policy == "deny":
            continue
        if tool_spec.kind == "sandbox":
            pool = pool_of(tool_spec)
            if pool in executors:
                tools[tool_spec.name] = build_sandbox_tool(tool_spec, executors[pool])
            else:
                known = ", ".join(sorted(executors)) or "none"
                problems.append(SpecProblem(f"tools[{index}].pool", f"{pool!r} has no executor; {SANDBOXES_ENV} names: {known}"))
            continue
        try:
            assert tool_spec.target is not None  # kind python: required by spec validation
            function = import_target(tool_spec.target, Path(loaded.base_dir))
            tools[tool_spec.name] = build_tool(tool_spec, function)
        except ToolLoadError as exc:
            problems.append(SpecProblem(f"tools[{index}].target", f"{tool_spec.target!r}: {exc}"))
    if problems:
        raise SpecError(str(loaded.path or "(stored spec)"), problems)
    return tools


def load_agent(loaded: LoadedSpec, *, router: Router | None = None, sandboxes: Mapping[str, str] | None = None) -> Agent:
    """`sandboxes`: pool -> executor URL for sandbox tools (default: AIRLOCK_SANDBOXES)."""
    spec = loaded.spec
    check_outbound_environment(current_profile())  # before anything can send a request
    tools = load_tools(loaded, sandboxes)
    secrets = resolve_secrets(spec.secrets, Path(loaded.base_dir))
    keys = api_keys(spec, secrets) if router is None else {}
    # Secrets first: a key that is also a declared secret keeps that secret's name in
    # redactions ([REDACTED:<secret>]); apiKeyEnv keys appear as [REDACTED:api-key:<route>].
    redact_values = dict(secrets)
    for route_name, key in keys.items():
        if key:
            redact_values[f"api-key:{route_name}"] = key
    prices = {}
    for route_name, route in spec.routes().items():
        price = price_for(route)
        assert price is not None  # spec validation refuses routes without a price
        prices[route_name] = price
    return Agent(
        loaded=loaded,
        tools=tools,
        policies={t.name: t.policy for t in spec.tools},
        definitions=[tools[t.name].definition for t in spec.tools if t.name in tools],
        router=router or build_router(spec, keys),
        secrets=secrets,
        redactor=Redactor(redact_values),
        limits=BudgetLimits.from_spec(spec.budgets),
        prices=prices,
        tool_timeouts={t.name: _abandon_after(t) for t in spec.tools},
    )


def _abandon_after(tool: ToolSpec) -> float:
    """How long the runtime waits for a tool before abandoning the call.

    A python tool gets its own timeoutSeconds. A sandbox tool's timeoutSeconds is enforced by the
    executor, which kills the code and answers with what it printed; the runtime waits that long
    plus the HTTP margin, so it only abandons an executor that stopped answering.
    """
    seconds = float(tool.timeout_seconds or DEFAULT_TIMEOUT_SECONDS)
    if tool.kind == "sandbox":
        return seconds + HTTP_MARGIN_SECONDS
    return seconds
