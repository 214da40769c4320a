"""Context fitting: max_tokens lowered to the room left, older turns compacted, calls never
split from their results, and a clear failure when even the latest turn cannot fit."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.context_window import ContextKeeper, ContextTooLong, estimate_tokens, sendable
from runtime.models.base import ModelRequest, ToolDefinition

TOOLS = (ToolDefinition("lookup", "Look a thing up.", {"type": "object", "properties": {"q": {"type": "string"}}}),)


class CountingFake:
    """Counts like a server would (here: the estimate, so the test knows the numbers)."""

    route_name = "default"

    def __init__(self, window: int | None, exact: bool = True) -> None:
        self._window = window
        self.exact = exact
        self.lookups = 0
        self.counted: list[int] = []

    def context_window(self) -> int | None:
        self.lookups += 1
        return self._window

    def count_prompt_tokens(self, request: ModelRequest) -> int | None:
        if not self.exact:
            return None
        n = estimate_tokens(request.system, request.messages, request.tools)
        self.counted.append(n)
        return n


def conversation(turns: int, result_chars: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Refund order 1042 and report back."}]
    for i in range(turns):
        messages.append({"role": "assistant", "content": "", "tool_calls": [{"id": f"c{i}", "name": "lookup", "arguments": '{"q": "x"}'}]})
        messages.append({"role": "tool", "tool_call_id": f"c{i}", "name": "lookup", "content": f"r{i} " + "word " * (result_chars // 5), "is_error": False})
    return messages


def request(messages: list[dict[str, Any]], max_tokens: int = 4096) -> ModelRequest:
    return ModelRequest(system="You are careful.", messages=messages, tools=TOOLS, max_tokens=max_tokens)


def calls_and_results_pair(messages: list[Any]) -> None:
    calls = [c["id"] for m in messages if m["role"] == "assistant" for c in m.get("tool_calls") or []]
    results = [m["tool_call_id"] for m in messages if m["role"] == "tool"]
    assert calls == results


def test_max_tokens_is_lowered_to_the_room_left() -> None:
    client = CountingFake(2048)
    fitted = ContextKeeper(client, None).fit(request(conversation(1, 200)))
    assert fitted.window == 2048 and fitted.compaction is None
    assert fitted.prompt_tokens is not None and fitted.request.max_tokens == 2048 - fitted.prompt_tokens
    # A configured window wins and the server is not asked.
    keeper = ContextKeeper(client, 100_000)
    assert keeper.fit(request(conversation(1, 200))).request.max_tokens == 4096
    assert client.lookups == 1


def test_unknown_window_sends_the_request_unchanged() -> None:
    original = request(conversation(3, 5000))
    fitted = ContextKeeper(CountingFake(None), None).fit(original)
    assert fitted.request.max_tokens == 4096 and len(fitted.request.messages) == len(original.messages)


def test_old_tool_results_are_compacted_first_and_the_latest_turns_kept() -> None:
    messages = conversation(6, 1500)
    fitted = ContextKeeper(CountingFake(2048), None).fit(request(messages))
    sent = fitted.request.messages
    assert fitted.compaction is not None and fitted.compaction["stubbed_tool_results"]
    assert fitted.prompt_tokens + fitted.request.max_tokens <= 2048
    assert fitted.request.max_tokens >= 256
    assert sent[0]["content"].startswith("Refund order 1042")  # the task
    assert sent[-2:] == messages[-2:] and sent[-4:-2] == messages[-4:-2]  # the latest two turns, whole
    calls_and_results_pair(sent)
    stubbed = [m for m in sent if m["role"] == "tool" and "removed to fit" in m["content"]]
    assert [m["tool_call_id"] for m in stubbed] == fitted.compaction["stubbed_tool_results"]
    assert "c0" in fitted.compaction["stubbed_tool_results"]  # oldest first


def test_whole_old_turns_are_dropped_when_notes_are_not_enough() -> None:
    messages = conversation(40, 300)
    fitted = ContextKeeper(CountingFake(1024), None).fit(request(messages))
    sent = fitted.request.messages
    assert fitted.compaction is not None and fitted.compaction["dropped_messages"] > 0
    assert fitted.compaction["dropped_messages"] % 2 == 0  # a call and its result go together
    assert "earlier messages of this task were removed" in sent[0]["content"]
    assert sent[-1] == messages[-1]
    calls_and_results_pair(sent)
    assert fitted.prompt_tokens + fitted.request.max_tokens <= 1024


def test_an_unresolved_call_stays_with_the_latest_turn() -> None:
    messages = conversation(8, 1200)
    messages.append({"role": "assistant", "content": "", "tool_calls": [{"id": "open", "name": "lookup", "arguments": "{}"}]})
    sent = ContextKeeper(CountingFake(2048), None).fit(request(messages)).request.messages
    assert sent[-1]["tool_calls"][0]["id"] == "open"


def test_estimates_keep_a_margin_where_the_server_cannot_count() -> None:
    client = CountingFake(2048, exact=False)
    fitted = ContextKeeper(client, None).fit(request(conversation(6, 1500)))
    assert fitted.compaction is not None and fitted.compaction["counted"] == "estimate"
    assert fitted.prompt_tokens + fitted.request.max_tokens <= int(2048 * 0.9)


def test_a_task_that_cannot_fit_fails_with_the_numbers() -> None:
    messages = [{"role": "user", "content": "word " * 4000}]
    with pytest.raises(ContextTooLong) as caught:
        ContextKeeper(CountingFake(1024), None).fit(request(messages))
    text = str(caught.value)
    assert "context window of 1024 tokens" in text and "maxModelLen" in text


def test_markers_are_never_sent() -> None:
    messages = conversation(1, 10) + [{"role": "context", "compaction": {}}]
    assert all(m["role"] != "context" for m in sendable(messages))
