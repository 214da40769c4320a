"""Provider-neutral request/response types shared by the loop and the model clients.

The conversation is kept as plain JSON-able dicts (it is checkpointed as is):

- ``{"role": "user", "content": str}``
- ``{"role": "assistant", "content": str, "tool_calls": [{"id", "name", "arguments"}]}``
  where ``arguments`` is the raw JSON text the model produced
- ``{"role": "tool", "tool_call_id": str, "name": str, "content": str, "is_error": bool}``

Each client translates this to its wire format; system instructions travel separately.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolDefinition:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RequestUsage:
    """Tokens of one model call, as reported by the server."""

    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True, slots=True)
class ModelRequest:
    system: str
    messages: Sequence[Mapping[str, Any]]
    tools: Sequence[ToolDefinition]
    max_tokens: int
    # Absolute time.monotonic() after which the call must give up (the wall-clock budget).
    deadline: float | None = None


@dataclass(frozen=True, slots=True)
class ModelResponse:
    text: str
    tool_calls: tuple[ToolCall, ...]
    usage: RequestUsage
    finish_reason: str | None = None
    response_id: str | None = None
    response_model: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


class ModelCallError(Exception):
    """A model call failed for good (after any retries). ``error_type`` is low-cardinality."""

    def __init__(self, message: str, *, error_type: str, status: int | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.status = status


class DeadlineExceeded(ModelCallError):
    """The wall-clock budget ran out while waiting for the model."""

    def __init__(self, message: str) -> None:
        super().__init__(message, error_type="timeout")


class ModelClient(Protocol):
    route_name: str
    provider_name: str  # gen_ai.provider.name
    model: str
    server_address: str | None
    server_port: int | None

    def complete(self, request: ModelRequest) -> ModelResponse: ...

    def close(self) -> None: ...
