"""Numbers are numbers: a YAML ``true`` is not a replica count, and ``.inf`` is no budget.

Pydantic's lax mode turns ``true`` into 1 for an int field (YAML writes booleans bare, so a
slip like ``replicas: yes`` would deploy one replica); ``allow_inf_nan=False`` on the model
refuses ``.inf`` and ``.nan``. One validator, shared by the stack config and the agent spec.
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import ValidationInfo


def _numeric_only(annotation: Any) -> bool:
    args = typing.get_args(annotation) or (annotation,)
    flat: list[Any] = []
    for arg in args:
        flat.extend(typing.get_args(arg) or (arg,)) if typing.get_origin(arg) is typing.Annotated else flat.append(arg)
    return bool not in flat and any(a in (int, float) for a in flat)


def reject_bool_for_number(model: type, value: Any, info: ValidationInfo) -> Any:
    """A ``field_validator('*', mode='before')`` body: booleans in number fields are errors."""
    if isinstance(value, bool) and info.field_name is not None:
        field = model.model_fields.get(info.field_name)  # type: ignore[attr-defined]
        if field is not None and _numeric_only(field.annotation):
            raise ValueError(f"must be a number, not the boolean {str(value).lower()}")
    return value
