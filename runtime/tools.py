"""Python tools: `module:function` loaded, described to the model and called safely.

One source of truth per tool: the function's signature. A pydantic model built from
its type hints validates the model's JSON arguments before the call and produces the
JSON schema the model sees; the docstring supplies the descriptions. A parameter named
``context`` is not shown to the model: the runtime fills it with a :class:`ToolContext`.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic_core import to_jsonable_python

from runtime.models.base import ToolDefinition

if TYPE_CHECKING:
    from runtime.spec import ToolSpec

CONTEXT_PARAM = "context"


@dataclass(frozen=True)
class ToolContext:
    """What the runtime gives a tool besides its arguments.

    ``idempotency_key`` is the same for every execution of one tool call, including a
    retry after a crash and resume: pass it to any external API that accepts one, or use
    it to de-duplicate side effects yourself. ``secrets`` holds only the secrets the
    tool lists in the spec.
    """

    task_id: str
    tool_call_id: str
    idempotency_key: str
    secrets: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __repr__(self) -> str:  # never print secret values, even by accident
        names = ", ".join(sorted(self.secrets))
        return (
            f"ToolContext(task_id={self.task_id!r}, tool_call_id={self.tool_call_id!r}, "
            f"idempotency_key={self.idempotency_key!r}, secrets=<{names}>)"
        )


class ToolLoadError(Exception):
    """The target cannot be imported or is not a usable function (a spec problem)."""


class ToolArgumentsError(Exception):
    """The model's arguments are not valid JSON or do not match the function's hints."""


_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Returns|Raises|Yields|Examples?|Notes?):\s*$")
_ARG_LINE = re.compile(r"^\s*\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SPHINX_PARAM = re.compile(r"^\s*:param\s+(?:[\w\[\], ]+\s+)?(\w+)\s*:\s*(.*)$")


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a Google- or Sphinx-style docstring into a description and per-arg texts."""
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    description: list[str] = []
    params: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    for line in lines:
        header = _SECTION.match(line)
        if header:
            section, current = header.group(1), None
            continue
        sphinx = _SPHINX_PARAM.match(line)
        if sphinx:
            current = sphinx.group(1)
            params[current] = sphinx.group(2).strip()
            section = "sphinx"
            continue
        if line.strip().startswith(":"):
            section, current = "sphinx-other", None
            continue
        if section in ("Args", "Arguments", "Parameters"):
            arg = _ARG_LINE.match(line)
            indent = len(line) - len(line.lstrip())
            if arg and indent <= 4:
                current = arg.group(1)
                params[current] = arg.group(2).strip()
            elif current and line.strip():
                params[current] = (params[current] + " " + line.strip()).strip()
        elif section == "sphinx" and current and line.strip():
            params[current] = (params[current] + " " + line.strip()).strip()
        elif section is None:
            description.append(line)
    return "\n".join(description).strip(), params


def import_target(target: str, base_dir: Path) -> Callable[..., Any]:
    module_name, _, func_name = target.partition(":")
    # The spec's directory goes first on the path, so `tools:fn` finds tools.py beside it.
    base = str(base_dir)
    if base not in sys.path:
        sys.path.insert(0, base)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ToolLoadError(f"cannot import module {module_name!r}: {type(exc).__name__}: {exc}") from None
    func = getattr(module, func_name, None)
    if func is None:
        raise ToolLoadError(f"module {module_name!r} has no attribute {func_name!r}")
    if not callable(func):
        raise ToolLoadError(f"{target!r} is not callable")
    return func


@dataclass
class LoadedTool:
    name: str
    policy: str
    secret_names: tuple[str, ...]
    function: Callable[..., Any]
    args_model: type[BaseModel]
    wants_context: bool
    definition: ToolDefinition
    is_async: bool
    # Extra fields for the tool_result audit record, from the result text (sandbox tools: pool, isolation).
    audit_fields: Callable[[str], dict[str, Any]] | None = None

    def parse_arguments(self, raw: str) -> dict[str, Any]:
        """Validated keyword arguments for the function, or ToolArgumentsError."""
        try:
            data = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError as exc:
            raise ToolArgumentsError(f"arguments are not valid JSON ({exc.msg} at position {exc.pos})") from None
        if not isinstance(data, dict):
            raise ToolArgumentsError(f"arguments must be a JSON object, got {type(data).__name__}")
        try:
            validated = self.args_model.model_validate(data)
        except ValidationError as exc:
            details = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(arguments)'}: {e['msg']}"
                + (f" (got {e['input']!r})" if e["type"] != "missing" else "")
                for e in exc.errors()
            )
            raise ToolArgumentsError(f"arguments do not match the tool's parameters: {details}") from None
        # Keep validated values (coerced types, nested models) rather than the raw JSON.
        return {name: getattr(validated, name) for name in type(validated).model_fields}

    def invoke(self, kwargs: dict[str, Any], context: ToolContext) -> str:
        """Call the function; return its result as the text the model will see."""
        call_kwargs = dict(kwargs)
        if self.wants_context:
            call_kwargs[CONTEXT_PARAM] = context
        result = self.function(**call_kwargs)
        if self.is_async or inspect.isawaitable(result):
            result = asyncio.run(_await(result))
        return result_text(result)


async def _await(value: Any) -> Any:
    return await value


def result_text(result: Any) -> str:
    if isinstance(result, str):
        return result
    return json.dumps(to_jsonable_python(result), ensure_ascii=False)


def build_tool(spec: ToolSpec, function: Callable[..., Any]) -> LoadedTool:
    signature = inspect.signature(function)
    try:
        hints = get_type_hints(function)
    except Exception:
        hints = {}
    description, arg_docs = parse_docstring(inspect.getdoc(function))
    fields: dict[str, Any] = {}
    wants_context = False
    for name, param in signature.parameters.items():
        if name == CONTEXT_PARAM:
            wants_context = True
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ToolLoadError(f"parameter {name!r}: *args/**kwargs cannot be described to a model")
        if param.kind is param.POSITIONAL_ONLY:
            raise ToolLoadError(f"parameter {name!r} is positional-only; tools are called by keyword")
        annotation = hints.get(name, Any)
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (annotation, Field(default, description=arg_docs.get(name) or None))
    try:
        args_model = create_model(
            f"{spec.name}_arguments", __config__=ConfigDict(extra="forbid"), **fields
        )
        schema = args_model.model_json_schema()
    except Exception as exc:
        raise ToolLoadError(f"cannot build an argument schema from the type hints: {exc}") from None
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        if isinstance(prop, dict):
            prop.pop("title", None)
    text = spec.description or description or f"Tool {spec.name}."
    return LoadedTool(
        name=spec.name,
        policy=spec.policy,
        secret_names=tuple(spec.secrets),
        function=function,
        args_model=args_model,
        wants_context=wants_context,
        definition=ToolDefinition(name=spec.name, description=text, parameters=schema),
        is_async=inspect.iscoroutinefunction(function),
    )
