"""The agent spec: YAML in, a validated pydantic model and its agent version out.

Every key is camelCase, unknown keys are errors, and every error names the key path
(``tools[1].policy``), the value found and what is allowed. Checks that need more than
one field (duplicate names, secret references, prices, the airgapped profile) run after
the schema and report the same way.

The agent version is the content hash of the spec: sha256 over the canonical JSON of the
parsed YAML document, first 16 hex digits. Comments and formatting do not change it;
any change of meaning does. The same function must be used by anything else that
stamps an agent version (e.g. the Orchestrator's ConfigMap).

The deployment kit validates a spec for a stack's profile with :func:`validate_spec_text`
(no environment, no tool imports, no secrets) and stamps ``LoadedSpec.version``.
"""

from __future__ import annotations

import enum
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

from runtime import contract, hosts, platform_secrets, yaml_safe
from runtime.canonical import canonical_json, sha256_hex
from runtime.errors import BadInput
from runtime.field_errors import FieldError, field_errors, format_path
from runtime.strict_numbers import reject_bool_for_number
from runtime.tool_kinds import tool_kind_problems

PROFILES = ("cloud", "hybrid", "airgapped")
PROFILE_ENV = contract.PROFILE_ENV
Profile = Literal["cloud", "hybrid", "airgapped"]
SECRET_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]*$"


class _FromEnvironment(enum.Enum):
    """Typed sentinel: "take the profile from AIRLOCK_PROFILE" (None means no profile)."""

    TOKEN = "from-environment"


FROM_ENVIRONMENT = _FromEnvironment.TOKEN


class _SpecModel(BaseModel):
    # extra="forbid": a misspelt key must fail loudly, never be ignored silently.
    # Only the camelCase spelling is accepted so that one spec has one spelling.
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True, allow_inf_nan=False
    )

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        return reject_bool_for_number(cls, value, info)


def _check_http_url(value: str) -> str:
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as error:  # an unbalanced '[' or a port outside 0-65535
        raise ValueError(f"must be an http:// or https:// URL with a host and a port in 1-65535 ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    if port == 0:
        raise ValueError("has port 0; allowed: a port in 1-65535")
    return value.rstrip("/")


class Prices(_SpecModel):
    """List prices used to compute cost; overrides the built-in table for this route."""

    input: float = Field(ge=0, description="USD per million input (prompt) tokens.")
    output: float = Field(ge=0, description="USD per million output (completion) tokens.")


class ModelRoute(_SpecModel):
    """One model endpoint the loop can send steps to."""

    provider: Literal["openai", "anthropic"] = Field(
        description="`openai`: any OpenAI-compatible Chat Completions server (vLLM, OpenAI). "
        "`anthropic`: the Anthropic Messages API."
    )
    base_url: str = Field(description="Base URL of the API, e.g. `http://vllm:8000/v1` or `https://api.anthropic.com`.")
    model: str = Field(min_length=1, description="Model name sent in every request.")
    api_key_env: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Name of the environment variable holding the API key; omit for servers without authentication.",
    )
    api_key_secret: str | None = Field(
        default=None,
        pattern=SECRET_NAME_PATTERN,
        description="Name of an entry in the spec's `secrets` holding the API key, resolved by the broker "
        "like every secret; not together with apiKeyEnv.",
    )
    max_tokens: int = Field(
        default=4096,
        ge=1,
        le=1_000_000,
        description="Upper bound on output tokens per call (lowered further to fit the budget).",
    )
    context_window: int | None = Field(
        default=None,
        ge=256,
        le=10_000_000,
        description="Tokens the model can attend to (prompt + output). Default: what the server reports "
        "(vLLM's `max_model_len` on /v1/models); set it for cloud models. Keeps every call inside it "
        "(docs/runtime.md, \"Context window\").",
    )
    temperature: float | None = Field(
        default=None, ge=0, le=2, description="Sampling temperature; omitted when not set."
    )
    timeout_seconds: float = Field(default=120, gt=0, le=3600, description="Timeout of one HTTP request to the model.")
    max_retries: int = Field(
        default=3,
        ge=0,
        le=10,
        description="Retries after connection errors, timeouts, 429 and 5xx (bounded).",
    )
    retry_backoff_seconds: float = Field(
        default=0.5,
        ge=0,
        le=60,
        description="First backoff delay; doubles per retry (with jitter) unless the server sends Retry-After.",
    )
    prices: Prices | None = Field(
        default=None,
        description="Prices for cost accounting. Default: the built-in table for known "
        "Claude models, 0 for self-hosted endpoints; required otherwise.",
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_http_url(value)


class Models(_SpecModel):
    """Model routes: `default` for every step, `planner` for the first planning step."""

    default: ModelRoute = Field(description="Route for every step not sent to the planner.")
    planner: ModelRoute | None = Field(
        default=None, description="Route for the first (planning) step of a task, if set."
    )


_SECRET_SOURCE = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+|aws-secretsmanager:.+|airlock:.*)$")
_SOURCES_ALLOWED = "env:NAME, file:PATH, aws-secretsmanager:ID, airlock:NAME"


class SecretSpec(_SpecModel):
    """A credential the broker fetches at execution time for the tools that list it."""

    name: str = Field(pattern=SECRET_NAME_PATTERN, description="Name tools use to refer to it.")
    source: str = Field(
        alias="from",
        description="`env:NAME`, `file:PATH` (relative to the spec's directory), "
        "`aws-secretsmanager:ID` (name or ARN; `ID#key` picks a key of a JSON secret) or "
        "`airlock:NAME` (the platform's secret NAME, as the orchestrator provides it).",
    )

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        if not _SECRET_SOURCE.match(value):
            raise ValueError(f"is not a supported secret source; allowed: {_SOURCES_ALLOWED}")
        scheme, _, ref = value.partition(":")
        if scheme == platform_secrets.SCHEME and not platform_secrets.is_valid_name(ref):
            raise ValueError(
                "names no valid platform secret; allowed: airlock:NAME with NAME as in the stack's "
                "airlock:secrets[].name (lowercase letters, digits and '-', starting with a letter, at most 40)"
            )
        return value

    @property
    def platform_name(self) -> str | None:
        """The platform secret this entry reads (`airlock:NAME`), else None."""
        scheme, _, ref = self.source.partition(":")
        return ref if scheme == platform_secrets.SCHEME else None


class ToolSpec(_SpecModel):
    """A tool the model may call, and the permission the runtime applies to it."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Name the model calls the tool by (letters, digits, `_`, `-`; max 64).",
    )
    kind: Literal["python", "sandbox"] = Field(
        description="`python`: a function in the spec's directory; `sandbox`: runs the model's code in a sandbox pool."
    )
    target: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$",
        description="`module:function` (kind python); the spec's directory is on the import path.",
    )
    policy: Literal["allow", "ask", "deny"] = Field(
        description="`allow` runs; `ask` waits for a human approval; `deny` never runs."
    )
    secrets: list[str] = Field(default_factory=list, description="Names of secrets this tool receives in its context.")
    description: str | None = Field(
        default=None, description="Description for the model; default: the function's docstring."
    )
    # kind sandbox (docs/sandboxes.md); checked per kind by runtime.tool_kinds.
    language: Literal["python", "bash"] | None = Field(default=None, description="Sandbox: the code's language.")
    pool: str | None = Field(
        default=None, pattern=r"^[a-z][a-z0-9-]{0,39}$", description="Sandbox: the pool (airlock:sandboxes[].name)."
    )
    timeout_seconds: int | None = Field(default=None, ge=1, le=3600, description="Seconds one call may take (python: default 60, then an error result; sandbox: per exec).")
    memory_mb: int | None = Field(default=None, ge=32, le=65536, description="Sandbox: memory limit per exec, MiB.")


class Budgets(_SpecModel):
    """Limits checked before every model call. `null` disables a limit."""

    max_steps: int | None = Field(
        default=25, ge=1, description="Plan->act->observe iterations (each starts with a model call)."
    )
    max_input_tokens: int | None = Field(default=None, ge=1, description="Input tokens, summed.")
    max_output_tokens: int | None = Field(
        default=None, ge=1, description="Output tokens, summed; also caps each call's max_tokens."
    )
    max_cost_usd: float | None = Field(default=None, gt=0, description="Model cost in USD, summed.")
    max_seconds: float | None = Field(
        default=3600,
        gt=0,
        description="Wall-clock seconds the runtime spends on the task (time parked waiting "
        "for approval or killed does not count).",
    )


class Approvals(_SpecModel):
    """How humans hear about `ask` tool calls."""

    webhook_url: str | None = Field(default=None, description="POST each pending approval (JSON) to this URL.")
    timeout_seconds: float = Field(
        default=5, gt=0, le=60, description="Timeout of the webhook POST; failure is recorded, not fatal."
    )

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _check_http_url(value)


class Telemetry(_SpecModel):
    """OpenTelemetry export. Silent unless an endpoint is configured."""

    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP endpoint; `OTEL_EXPORTER_OTLP_ENDPOINT` takes precedence.",
    )
    capture_content: bool = Field(
        default=False,
        description="Record (redacted) message content and tool arguments on spans.",
    )

    @field_validator("otlp_endpoint")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _check_http_url(value)


class AgentSpec(_SpecModel):
    """An agent: instructions, model routes, tools with policies, budgets, approvals."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="Agent name (used in telemetry and audit).",
    )
    description: str | None = Field(default=None, description="Free text for humans.")
    instructions: str = Field(min_length=1, description="System instructions sent with every call.")
    models: Models = Field(description="Model routes.")
    secrets: list[SecretSpec] = Field(default_factory=list, description="Secrets tools may receive.")
    tools: list[ToolSpec] = Field(default_factory=list, description="Tools and their policies.")
    budgets: Budgets = Field(default_factory=Budgets, description="Limits per task.")
    approvals: Approvals = Field(default_factory=Approvals, description="Approval notifications.")
    telemetry: Telemetry = Field(default_factory=Telemetry, description="Telemetry export.")

    def routes(self) -> dict[str, ModelRoute]:
        out = {"default": self.models.default}
        if self.models.planner is not None:
            out["planner"] = self.models.planner
        return out

    def platform_secret_names(self) -> list[str]:
        """Platform secrets (`airlock:NAME`) the spec reads, in declaration order, each once.

        The deployment kit checks these against the stack's `airlock:secrets` so that a
        missing one fails at `pulumi preview`, not when the first task starts.
        """
        names = [s.platform_name for s in self.secrets if s.platform_name is not None]
        return list(dict.fromkeys(names))


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class SpecProblem:
    path: str
    message: str
    line: int | None = None

    def render(self) -> str:
        where = f"{self.path} (line {self.line})" if self.line else self.path
        return f"{where}: {self.message}" if where else self.message


class SpecError(BadInput):
    """The spec is invalid; carries every problem found, each naming its key path."""

    def __init__(self, source: str, problems: list[SpecProblem]) -> None:
        self.source = source
        self.problems = problems
        if len(problems) == 1:
            text = f"invalid agent spec {source}: {problems[0].render()}"
        else:
            lines = "\n".join(f"  - {p.render()}" for p in problems)
            text = f"invalid agent spec {source} ({len(problems)} problems):\n{lines}"
        super().__init__(text)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _problem_from_pydantic(problem: FieldError) -> SpecProblem:
    """The spec's layout of a shared FieldError: the value inline where it helps."""
    value = _short(problem.value)
    if problem.kind in ("extra_forbidden", "missing"):
        text = problem.message
    elif problem.kind in ("literal_error", "string_pattern_mismatch", "value_error"):
        text = f"{value} {problem.message}"
    elif problem.kind == "model_type":
        text = f"{problem.message}, got {value}"
    else:
        text = f"{problem.message} (got {value})"
    return SpecProblem(problem.path, text)


# --------------------------------------------------------------------------- YAML


# Reading is runtime.yaml_safe: size, depth and alias-expansion limits, duplicate keys refused.


def _line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the node at `loc` (or of its nearest existing parent)."""
    node = root
    line = None
    for part in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if getattr(k, "value", None) == part]
            if not match:
                return line
            key_node, node = match[0]
            line = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return line
    if node is not None:
        line = node.start_mark.line + 1
    return line


# --------------------------------------------------------------------------- loading


def agent_version(document: Any) -> str:
    """Content hash of a parsed spec document: the agent version."""
    return sha256_hex(canonical_json(document))[:16]


def current_profile() -> str | None:
    value = os.environ.get(PROFILE_ENV, "").strip()
    if not value:
        return None
    if value not in PROFILES:
        raise BadInput(f"{PROFILE_ENV}={value!r} is not allowed; allowed: {', '.join(PROFILES)}")
    return value


def _check_profile(profile: object) -> str | None:
    """An explicit profile argument: a programming error if invalid, not the user's input."""
    if profile is not None and profile not in PROFILES:
        raise ValueError(f"profile={profile!r} is not allowed; allowed: {', '.join(PROFILES)} or None")
    return profile


def _secret_reference_problems(spec: AgentSpec) -> list[tuple[tuple[Any, ...], str]]:
    """Names of secrets used by tools and by model routes must be declared under `secrets`."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    secret_names = [s.name for s in spec.secrets]
    declared = ", ".join(secret_names) or "(no secrets declared)"
    for i, name in enumerate(secret_names):
        if name in secret_names[:i]:
            problems.append((("secrets", i, "name"), f"{name!r} is declared twice; names must be unique"))
    for i, tool in enumerate(spec.tools):
        for j, ref in enumerate(tool.secrets):
            if ref not in secret_names:
                problems.append((("tools", i, "secrets", j), f"{ref!r} is not a declared secret; declared: {declared}"))
    for route_name, route in spec.routes().items():
        if route.api_key_secret is None:
            continue
        loc = ("models", route_name, "apiKeySecret")
        if route.api_key_env is not None:
            problems.append(
                (
                    loc,
                    f"{route.api_key_secret!r} is set together with apiKeyEnv {route.api_key_env!r}; "
                    "allowed: exactly one of apiKeyEnv and apiKeySecret (or neither, for a server "
                    "without authentication)",
                )
            )
        elif route.api_key_secret not in secret_names:
            problems.append((loc, f"{route.api_key_secret!r} is not a declared secret; declared: {declared}"))
    return problems


def semantic_problems(
    spec: AgentSpec, profile: str | None, *, profile_origin: str | None = None
) -> list[tuple[tuple[Any, ...], str]]:
    """Checks across fields, and checks that depend on the deployment profile.

    `profile_origin` names where the profile came from in messages (default: the
    AIRLOCK_PROFILE variable, which is where the runtime takes it from).
    """
    from runtime.pricing import price_for  # local import: pricing imports this module

    refused_by = profile_origin or f"{PROFILE_ENV}=airgapped"
    problems = _secret_reference_problems(spec) + tool_kind_problems(spec.tools)
    tool_names = [t.name for t in spec.tools]
    for i, tool in enumerate(spec.tools):
        if tool.name in tool_names[:i]:
            problems.append((("tools", i, "name"), f"{tool.name!r} is declared twice; names must be unique"))
    for route_name, route in spec.routes().items():
        if price_for(route) is None:
            problems.append(
                (
                    ("models", route_name, "prices"),
                    f"no built-in price for model {route.model!r} at {route.base_url}; set "
                    "prices: {input: USD per million tokens, output: USD per million tokens} "
                    "(0 for a self-hosted server)",
                )
            )
        if profile == "airgapped" and not hosts.is_local_or_cluster(route.base_url):
            problems.append(
                (
                    ("models", route_name, "baseUrl"),
                    f"{route.base_url!r} is outside the cluster, refused by "
                    f"{refused_by}; allowed: loopback, a bare service name, "
                    f"*.svc or *.svc.{hosts.cluster_domain()}",
                )
            )
    if profile == "airgapped":
        for loc, url in (
            (("approvals", "webhookUrl"), spec.approvals.webhook_url),
            (("telemetry", "otlpEndpoint"), spec.telemetry.otlp_endpoint),
        ):
            if url and not hosts.is_local_or_cluster(url):
                problems.append((loc, f"{url!r} is outside the cluster, refused by {refused_by}"))
    return problems


def _with_lines(text: str, located: list[tuple[tuple[Any, ...], SpecProblem]]) -> list[SpecProblem]:
    """Attach YAML line numbers to problems; only computed when there are problems."""
    try:
        root = yaml_safe.compose_text(text)
    except yaml.YAMLError:
        root = None
    return [SpecProblem(p.path, p.message, _line_of(root, loc)) for loc, p in located]


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec. `version` is the agent version: the one value to stamp anywhere
    (tasks, checkpoints, audit records, traces, and the kit's pods and ConfigMaps)."""

    spec: AgentSpec
    version: str
    text: str
    path: Path | None
    base_dir: Path


def parse_spec(
    text: str,
    *,
    source: str,
    base_dir: Path,
    path: Path | None = None,
    profile: Profile | None | _FromEnvironment = FROM_ENVIRONMENT,
) -> LoadedSpec:
    """Validate spec text; raise SpecError naming every problem with its key path.

    `profile` is the deployment profile the spec must fit (`cloud`, `hybrid`,
    `airgapped`, or None for no restriction). By default it is read from AIRLOCK_PROFILE,
    which is what the runtime does on `run` and `resume`.
    """
    if profile is FROM_ENVIRONMENT:
        effective, origin = current_profile(), None
    else:
        effective, origin = _check_profile(profile), "the airgapped profile"
    try:
        document = yaml_safe.load_text(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(source, [SpecProblem("", f"invalid YAML at {where}{problem}")]) from None
    if not isinstance(document, dict):
        raise SpecError(source, [SpecProblem("", f"the spec must be a YAML mapping of keys, got {_short(document)}")])

    try:
        spec = AgentSpec.model_validate(document)
    except ValidationError as exc:
        located = [(problem.loc, _problem_from_pydantic(problem)) for problem in field_errors(exc, AgentSpec)]
        raise SpecError(source, _with_lines(text, located)) from None
    semantic = semantic_problems(spec, effective, profile_origin=origin)
    if semantic:
        located = [(loc, SpecProblem(format_path(loc), msg)) for loc, msg in semantic]
        raise SpecError(source, _with_lines(text, located))
    return LoadedSpec(spec=spec, version=agent_version(document), text=text, path=path, base_dir=base_dir)


def validate_spec_text(
    text: str,
    *,
    source: str,
    base_dir: Path,
    profile: Profile | None,
    cluster_domain: str = hosts.DEFAULT_CLUSTER_DOMAIN,
) -> LoadedSpec:
    """Validate a spec for a deployment profile, as the deployment kit does before it ships one.

    Pure: it reads no environment variable (the profile and the cluster domain are
    arguments), imports no tool module, resolves no secret and opens no connection, so it
    is safe inside a Pulumi program. Raises SpecError (every problem with its key path and
    line; ``str()`` is the full message) or ValueError for an invalid `profile` argument.
    The returned ``version`` is the agent version the runtime stamps on every task,
    checkpoint, audit record and trace of this spec.
    """
    with hosts.fixed_cluster_domain(cluster_domain):
        return parse_spec(text, source=source, base_dir=base_dir, profile=profile)


def load_spec_file(path: str | Path) -> LoadedSpec:
    p = Path(path)
    try:
        if p.is_file() and p.stat().st_size > yaml_safe.MAX_BYTES:
            raise BadInput(f"--agent: spec file {str(p)!r} is larger than {yaml_safe.MAX_BYTES} bytes")
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"--agent: spec file {str(p)!r} does not exist") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise BadInput(f"--agent: cannot read spec file {str(p)!r}: {exc}") from None
    resolved = p.resolve()
    return parse_spec(text, source=str(p), base_dir=resolved.parent, path=resolved)
