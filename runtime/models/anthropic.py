"""Anthropic Messages API client."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from runtime.models.base import ModelCallError, ModelRequest, ModelResponse, RequestUsage, ToolCall
from runtime.models.http import RouteClient

if TYPE_CHECKING:
    from runtime.spec import ModelRoute

ANTHROPIC_VERSION = "2023-06-01"


def _tool_input(arguments: str) -> dict[str, Any]:
    # tool_use.input must be an object; arguments another route produced may not parse.
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except json.JSONDecodeError:
        return {"_unparsed_arguments": arguments}
    return value if isinstance(value, dict) else {"_arguments": value}


def to_anthropic_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        role = m["role"]
        if role == "user":
            out.append({"role": "user", "content": [{"type": "text", "text": m["content"]}]})
        elif role == "assistant":
            blocks: list[dict[str, Any]] = []
            if m.get("content"):
                blocks.append({"type": "text", "text": m["content"]})
            for c in m.get("tool_calls") or []:
                blocks.append(
                    {"type": "tool_use", "id": c["id"], "name": c["name"], "input": _tool_input(c["arguments"])}
                )
            out.append({"role": "assistant", "content": blocks or [{"type": "text", "text": "(empty)"}]})
        elif role == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": m["tool_call_id"],
                "content": m["content"],
                "is_error": bool(m.get("is_error")),
            }
            # The Messages API wants all results of one turn in a single user message.
            if (
                out
                and out[-1]["role"] == "user"
                and out[-1]["content"]
                and out[-1]["content"][0]["type"] == "tool_result"
            ):
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
    return out


def parse_anthropic_response(data: Mapping[str, Any], label: str) -> ModelResponse:
    content = data.get("content")
    if not isinstance(content, list):
        raise ModelCallError(f"{label}: response has no content list", error_type="invalid_response")
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in content:
        if block.get("type") == "text":
            texts.append(block.get("text") or "")
        elif block.get("type") == "tool_use":
            calls.append(
                ToolCall(
                    id=str(block.get("id") or ""),
                    name=str(block.get("name") or ""),
                    arguments=json.dumps(block.get("input") or {}),
                )
            )
    usage = data.get("usage") or {}
    # Cached prompt tokens are still input the call consumed; they count toward the budget.
    input_tokens = sum(
        int(usage.get(k) or 0) for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    return ModelResponse(
        text="".join(texts),
        tool_calls=tuple(calls),
        usage=RequestUsage(input_tokens=input_tokens, output_tokens=int(usage.get("output_tokens") or 0)),
        finish_reason=data.get("stop_reason"),
        response_id=data.get("id"),
        response_model=data.get("model"),
        raw=data,
    )


class AnthropicMessagesClient(RouteClient):
    provider_name = "anthropic"

    def __init__(
        self,
        route_name: str,
        route: ModelRoute,
        api_key: str | None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        if api_key:
            headers["x-api-key"] = api_key
        # Accept both https://api.anthropic.com and a base URL that already ends in /v1.
        path = "/messages" if route.base_url.endswith("/v1") else "/v1/messages"
        super().__init__(route_name, route, path=path, headers=headers, sleep=sleep, transport=transport)

    def complete(self, request: ModelRequest) -> ModelResponse:
        body: dict[str, Any] = {
            "model": self.route.model,
            "max_tokens": request.max_tokens,
            "system": request.system,
            "messages": to_anthropic_messages(request.messages),
        }
        if request.tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in request.tools
            ]
        if self.route.temperature is not None:
            body["temperature"] = self.route.temperature
        data = self._http.post(body, deadline=request.deadline)
        return parse_anthropic_response(data, self._http.label)
