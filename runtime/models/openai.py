"""OpenAI-compatible Chat Completions client (vLLM, OpenAI and compatible servers)."""

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


def to_openai_messages(system: str, messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for m in messages:
        role = m["role"]
        if role == "user":
            out.append({"role": "user", "content": m["content"]})
        elif role == "assistant":
            msg: dict[str, Any] = {"role": "assistant", "content": m.get("content") or None}
            calls = m.get("tool_calls") or []
            if calls:
                msg["tool_calls"] = [
                    {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                    for c in calls
                ]
            out.append(msg)
        elif role == "tool":
            # Chat Completions has no error flag: the text itself says it is an error.
            out.append({"role": "tool", "tool_call_id": m["tool_call_id"], "content": m["content"]})
    return out


def parse_openai_response(data: Mapping[str, Any], label: str) -> ModelResponse:
    try:
        choice = data["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError):
        raise ModelCallError(f"{label}: response has no choices[0].message", error_type="invalid_response") from None
    calls = []
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        arguments = function.get("arguments", "")
        if not isinstance(arguments, str):  # some servers send an object instead of JSON text
            arguments = json.dumps(arguments)
        calls.append(ToolCall(id=str(call.get("id") or ""), name=str(function.get("name") or ""), arguments=arguments))
    usage = data.get("usage") or {}
    return ModelResponse(
        text=message.get("content") or "",
        tool_calls=tuple(calls),
        usage=RequestUsage(
            input_tokens=int(usage.get("prompt_tokens") or 0),
            output_tokens=int(usage.get("completion_tokens") or 0),
        ),
        finish_reason=choice.get("finish_reason"),
        response_id=data.get("id"),
        response_model=data.get("model"),
        raw=data,
    )


class OpenAIChatClient(RouteClient):
    def __init__(
        self,
        route_name: str,
        route: ModelRoute,
        api_key: str | None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        super().__init__(route_name, route, path="/chat/completions", headers=headers, sleep=sleep, transport=transport)
        # semconv: "openai" for OpenAI itself; self-hosted OpenAI-compatible servers report "vllm".
        host = (self.server_address or "").lower()
        self.provider_name = "openai" if host == "openai.com" or host.endswith(".openai.com") else "vllm"

    def _chat_body(self, request: ModelRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.route.model,
            "messages": to_openai_messages(request.system, request.messages),
        }
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
                }
                for t in request.tools
            ]
        return body

    def context_window(self) -> int | None:
        """The server's context length, where it reports one (vLLM: max_model_len on /v1/models)."""
        data = self._http.fetch_json("GET", self.route.base_url + "/models")
        for entry in (data or {}).get("data") or []:
            if isinstance(entry, dict) and entry.get("id") == self.route.model:
                value = entry.get("max_model_len")
                return value if isinstance(value, int) and value > 0 else None
        return None

    def count_prompt_tokens(self, request: ModelRequest) -> int | None:
        """Exact prompt tokens (chat template and tools included) from vLLM's /tokenize; None elsewhere."""
        if self.provider_name != "vllm":
            return None
        root = self.route.base_url.removesuffix("/v1")
        data = self._http.fetch_json("POST", root + "/tokenize", {**self._chat_body(request), "add_generation_prompt": True})
        count = (data or {}).get("count")
        return count if isinstance(count, int) else None

    def complete(self, request: ModelRequest) -> ModelResponse:
        body = self._chat_body(request)
        body["max_tokens"] = request.max_tokens
        if self.route.temperature is not None:
            body["temperature"] = self.route.temperature
        data = self._http.post(body, deadline=request.deadline)
        return parse_openai_response(data, self._http.label)
