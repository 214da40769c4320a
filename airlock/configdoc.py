"""Render docs/configuration.md from the schema, so the reference can never drift from it.

    python -m airlock.configdoc > docs/configuration.md

A test regenerates it and compares, so a schema change without a docs update fails CI.
"""

from __future__ import annotations

import enum
import ipaddress
import json
import types
import typing
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from components.config.schema import StackConfig

HEADER = """# Stack configuration reference

Every key a stack may set under the `airlock:` namespace in `stacks/Pulumi.<stack>.yaml`
(generated from `components/config/schema.py` by `python -m airlock.configdoc`; do not edit by hand).

Keys are camelCase. Unknown keys are errors, with a suggestion. "profile default" means the
value comes from the stack's profile (see [profiles.md](profiles.md)); "catalog" means it is
filled from the built-in GPU instance or model catalog. Besides `airlock:` keys, platform `aws`
reads `aws:region`.
"""


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):  # Optional[X] and X | None
        names = [_type_name(a) for a in args if a is not type(None)]
        return " | ".join(names)
    if origin is typing.Literal:
        return " \\| ".join(f"`{json.dumps(a)}`" for a in args)
    if origin in (list, tuple):
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map of {_type_name(args[0])} to {_type_name(args[1])}"
    if annotation is SecretStr:
        return "secret"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    if annotation in (ipaddress.IPv4Network,):
        return "IPv4 CIDR"
    if annotation in (ipaddress.IPv4Address,):
        return "IPv4 address"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " \\| ".join(f"`{m.value}`" for m in annotation)
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        value = field.get_default(call_default_factory=True, validated_data={})
    elif field.default is PydanticUndefined:
        return ""
    else:
        value = field.default
    if value is None:
        return "profile default" if "Default" in (field.description or "") else "unset"
    if isinstance(value, BaseModel):
        return "see below"
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return "see description"
    if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv4Address)):
        value = str(value)
    return f"`{json.dumps(value)}`"


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _nested_model(arg)
        if found:
            return found
    return None


def render() -> str:
    sections: list[str] = [HEADER]
    queue: list[tuple[str, type[BaseModel]]] = [("airlock:", StackConfig)]
    seen: set[str] = set()
    while queue:
        prefix, model = queue.pop(0)
        if prefix in seen:
            continue
        seen.add(prefix)
        title = prefix.rstrip(".") if prefix != "airlock:" else "Top-level keys"
        sections.append(f"## {title}\n")
        if model.__doc__ and prefix != "airlock:":
            sections.append(model.__doc__.strip().splitlines()[0] + "\n")
        sections.append("| key | type | default | description |\n|---|---|---|---|")
        for name, field in model.model_fields.items():
            key = field.alias or name
            description = (field.description or "").replace("|", "\\|")
            sections.append(f"| `{key}` | {_type_name(field.annotation)} | {_default(field)} | {description} |")
            nested = _nested_model(field.annotation)
            if nested is not None:
                is_list = typing.get_origin(field.annotation) is list or any(
                    typing.get_origin(a) is list for a in typing.get_args(field.annotation)
                )
                queue.append((f"{prefix}{key}{'[]' if is_list else ''}.", nested))
        sections.append("")
    return "\n".join(sections).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
