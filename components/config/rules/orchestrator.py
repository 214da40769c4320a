"""The agent spec the orchestrator deploys must run on this stack.

Checked at config validation (so `airlock validate`, `airlock synth` and `pulumi up` all
stop on it): the spec is valid for the stack's profile (the runtime's own validator, so
the kit and the runtime can never disagree), every model route is a model this stack
serves under the name it serves it, and every credential comes from the stack's secrets in
a form the orchestrator Deployment provides (docs/agent-spec.md, "Deployed specs").
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from components.config.errors import ConfigIssue, key_path
from components.config.naming import model_service_url
from components.config.rules.context import RuleContext
from components.config.schema import ModelConfig, StackConfig

if TYPE_CHECKING:
    from runtime.spec import ModelRoute

# What the orchestrator Deployment puts in the runtime's environment for local routes.
LOCAL_API_KEY_ENV = "VLLM_API_KEY"
PLATFORM_SECRET_PREFIX = "airlock:"


def served_routes(config: StackConfig) -> dict[str, tuple[str, str]]:
    """base URL -> (model name the server answers to, "local" | "cloud")."""
    routes = {model_service_url(m.name): (m.name, "local") for m in config.models}
    routes.update({(c.base_url or "").rstrip("/"): (c.model, "cloud") for c in config.cloud_models})
    return routes


def agent_spec_issues(config: StackConfig, project_dir: Path) -> Iterator[ConfigIssue]:
    from runtime.spec import SpecError, validate_spec_text

    relative = config.orchestrator.agent_spec or ""
    path = key_path("orchestrator", "agentSpec")
    spec_file = project_dir / relative
    root = project_dir.resolve()
    if relative and root not in spec_file.resolve().parents:
        yield ConfigIssue(
            path,
            relative,
            f"points outside the project directory ({project_dir}); the orchestrator ships a spec from the project: "
            "allowed: a path under it, such as agents/<stack>.yaml",
        )
        return
    if not spec_file.is_file():
        yield ConfigIssue(
            path,
            relative,
            f"no such file under the project directory ({project_dir}); the orchestrator runs this agent: start from "
            "one in agents/ (docs/agent-spec.md) and route it to this stack's models",
        )
        return
    try:
        loaded = validate_spec_text(spec_file.read_text(), source=relative, base_dir=spec_file.parent, profile=config.profile)
    except SpecError as error:
        for problem in error.problems:
            yield ConfigIssue(path, relative, f"is not a valid agent spec for this stack: {problem}")
        return
    spec = loaded.spec
    served = served_routes(config)
    cloud_secrets = {c.model: c.api_key_secret for c in config.cloud_models}
    stack_secrets = {s.name for s in config.secrets}
    spec_secrets = {s.name: s.source for s in spec.secrets}
    local_models = {m.name: m for m in config.models}

    for route_name, route in spec.routes().items():
        where = f"{relative}: models.{route_name}"
        url = route.base_url.rstrip("/")
        if url not in served:
            allowed = ", ".join(sorted(served)) or "none (the stack defines no models)"
            yield ConfigIssue(path, relative, f"{where}.baseUrl {route.base_url!r} is not a model this stack serves; allowed: {allowed}")
            continue
        model, kind = served[url]
        if route.model != model:
            yield ConfigIssue(path, relative, f"{where}.model {route.model!r}: the server at {url} serves {model!r}")
        if kind == "local" and route.api_key_env != LOCAL_API_KEY_ENV:
            yield ConfigIssue(path, relative, f"{where}: local model servers require an API key; set apiKeyEnv: {LOCAL_API_KEY_ENV} (the orchestrator provides it)")
        if kind == "local":
            yield from _local_route_issues(path, relative, where, route, local_models[model], bool(spec.tools))
        if kind == "cloud":
            wanted = cloud_secrets.get(model)
            source = spec_secrets.get(route.api_key_secret or "")
            if wanted and source != f"{PLATFORM_SECRET_PREFIX}{wanted}":
                yield ConfigIssue(
                    path,
                    relative,
                    f"{where}: set apiKeySecret to a spec secret with from: \"{PLATFORM_SECRET_PREFIX}{wanted}\" "
                    "(the stack's key for this model); environment variables are not provided for cloud keys",
                )

    pools = {s.name for s in config.sandboxes}
    for index, tool in enumerate(spec.tools):
        if tool.kind == "sandbox" and tool.policy != "deny" and (tool.pool or "default") not in pools:
            allowed = ", ".join(sorted(pools)) or "none defined in airlock:sandboxes"
            yield ConfigIssue(path, relative, f"{relative}: tools[{index}].pool {tool.pool or 'default'!r}: no such sandbox pool; allowed: {allowed}")

    for index, secret in enumerate(spec.secrets):
        where = f"{relative}: secrets[{index}]"
        if secret.source.startswith(PLATFORM_SECRET_PREFIX):
            name = secret.source[len(PLATFORM_SECRET_PREFIX):]
            if name not in stack_secrets:
                allowed = ", ".join(sorted(stack_secrets)) or "none defined in airlock:secrets"
                yield ConfigIssue(path, relative, f"{where}.from {secret.source!r}: no such stack secret; allowed: {allowed}")
        else:
            yield ConfigIssue(
                path,
                relative,
                f"{where}.from {secret.source!r}: the orchestrator provides credentials only as "
                f"{PLATFORM_SECRET_PREFIX}<name> from airlock:secrets (env: and file: sources would be missing in the pod)",
                "warning",
            )


def _local_route_issues(
    path: str, relative: str, where: str, route: "ModelRoute", model: ModelConfig, has_tools: bool
) -> Iterator[ConfigIssue]:
    """A route to one of this stack's vLLM servers must fit how that server is started."""
    if has_tools and not model.tool_calling:
        yield ConfigIssue(
            path,
            relative,
            f"{where}: the agent has tools but model {model.name!r} is served without tool calling "
            "(vLLM would answer HTTP 400 to every step); set toolCalling: true on that model (the default) or route "
            "the agent to a model that has it",
        )
    window = model.max_model_len
    if route.context_window is not None and route.context_window > window:
        yield ConfigIssue(
            path,
            relative,
            f"{where}.contextWindow {route.context_window}: the server's maxModelLen is {window}; allowed: {window} "
            "or less (or leave it out: the orchestrator fills it in)",
        )
    window = min(window, route.context_window or window)
    if route.max_tokens > window // 2:
        yield ConfigIssue(
            path,
            relative,
            f"{where}.maxTokens {route.max_tokens} leaves less than half of the {window}-token context window for "
            f"the prompt; the runtime lowers it to what is left on every call, so long tasks get short answers. "
            f"Set maxTokens to {window // 4} or so, or raise the model's maxModelLen",
            "warning",
        )


def orchestrator(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    """The rule: the deployed agent spec runs on this stack (run last, see ``check``)."""
    yield from agent_spec_issues(config, ctx.project_dir)
