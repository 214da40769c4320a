"""The real HTTP model clients against scripted servers: retries, Retry-After, timeouts, parsing."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from runtime_testkit import Call, HttpReply, calls, final

from runtime.models.anthropic import AnthropicMessagesClient, to_anthropic_messages
from runtime.models.base import DeadlineExceeded, ModelCallError, ModelRequest
from runtime.models.http import RetryPolicy, backoff_delay, retry_after_seconds
from runtime.models.openai import OpenAIChatClient
from runtime.spec import ModelRoute


def client_for(server_or_url, flavor="openai", sleeps=None, **route):
    url = server_or_url if isinstance(server_or_url, str) else server_or_url.url
    spec = ModelRoute.model_validate(
        {"provider": flavor, "baseUrl": url, "model": "m", "retryBackoffSeconds": 0.25, **route}
    )
    cls = OpenAIChatClient if flavor == "openai" else AnthropicMessagesClient
    return cls("default", spec, "key-123", sleep=(sleeps.append if sleeps is not None else (lambda s: None)))


def request(**kw):
    return ModelRequest(system="sys", messages=[{"role": "user", "content": "hi"}], tools=[], max_tokens=64, **kw)


def test_retries_5xx_and_429_honouring_retry_after(serve):
    server = serve(
        "openai",
        [final("ok", usage=(11, 3))],
        before=[
            HttpReply(500, {"error": "boom"}),
            HttpReply(429, {"error": "slow down"}, {"retry-after": "2"}),
            HttpReply(529, {"error": "overloaded"}, {"retry-after-ms": "1500"}),
        ],
    )
    sleeps: list[float] = []
    response = client_for(server, sleeps=sleeps).complete(request())
    assert response.text == "ok" and response.usage.input_tokens == 11 and response.usage.output_tokens == 3
    assert server.count == 4
    assert 0.125 <= sleeps[0] <= 0.25  # backoff with jitter from retryBackoffSeconds
    assert sleeps[1:] == [2.0, 1.5]  # the server's Retry-After wins
    assert server.headers[0]["authorization"] == "Bearer key-123"


def test_retries_are_bounded(serve):
    server = serve("anthropic", [final("never")], before=[HttpReply(503, {"error": "down"})] * 5)
    sleeps: list[float] = []
    with pytest.raises(ModelCallError) as err:
        client_for(server, "anthropic", sleeps, maxRetries=2).complete(request())
    assert server.count == 3 and len(sleeps) == 2
    assert "HTTP 503" in str(err.value) and "gave up after 3 attempts" in str(err.value)
    assert err.value.error_type == "503"


def test_client_errors_are_not_retried(serve):
    server = serve("openai", [final("never")], before=[HttpReply(400, {"error": {"message": "bad tools"}})])
    with pytest.raises(ModelCallError) as err:
        client_for(server).complete(request())
    assert server.count == 1 and "HTTP 400" in str(err.value) and "bad tools" in str(err.value)


def test_connection_errors_are_retried():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps: list[float] = []
    with pytest.raises(ModelCallError) as err:
        client_for(f"http://127.0.0.1:{port}/v1", sleeps=sleeps, maxRetries=2).complete(request())
    assert len(sleeps) == 2 and err.value.error_type == "ConnectError"
    assert "cannot reach" in str(err.value)


def test_timeouts_are_retried_then_reported(serve):
    server = serve("openai", [final("late")])
    server.on_request = lambda n, body: time.sleep(1.0)
    with pytest.raises(ModelCallError) as err:
        client_for(server, maxRetries=1, timeoutSeconds=0.2).complete(request())
    assert server.count == 2 and err.value.error_type == "timeout"


def test_retry_after_beyond_the_limit_or_the_deadline_ends_the_call(serve):
    server = serve("openai", [final("never")], before=[HttpReply(429, {}, {"retry-after": "3600"})])
    with pytest.raises(ModelCallError) as err:
        client_for(server).complete(request())
    assert server.count == 1 and "retry after 3600s" in str(err.value)

    server = serve("openai", [final("never")], before=[HttpReply(429, {}, {"retry-after": "30"})])
    with pytest.raises(DeadlineExceeded):
        client_for(server).complete(request(deadline=time.monotonic() + 5))
    assert server.count == 1
    with pytest.raises(DeadlineExceeded):
        client_for(server).complete(request(deadline=time.monotonic() - 1))
    assert server.count == 1  # no request at all once the budget is gone


def test_retry_after_forms_and_backoff():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert retry_after_seconds({"retry-after": later}, now=now.timestamp()) == pytest.approx(7)
    assert retry_after_seconds({"retry-after": "0"}) == 0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None
    policy = RetryPolicy(backoff_seconds=1, max_backoff_seconds=8)
    assert [backoff_delay(policy, a, rand=lambda: 1.0) for a in range(5)] == [1, 2, 4, 8, 8]
    assert backoff_delay(policy, 0, rand=lambda: 0.0) == 0.5


def test_anthropic_wire_format(serve):
    server = serve("anthropic", [final("x"), calls(Call("f", {"a": 1}), text="thinking", usage=(40, 9))])
    messages = [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "a", "name": "f", "arguments": '{"x": 1}'},
                {"id": "b", "name": "g", "arguments": "{bad"},
            ],
        },
        {"role": "tool", "tool_call_id": "a", "name": "f", "content": "1", "is_error": False},
        {"role": "tool", "tool_call_id": "b", "name": "g", "content": "error: bad", "is_error": True},
    ]
    wire = to_anthropic_messages(messages)
    assert [m["role"] for m in wire] == ["user", "assistant", "user"]  # both results in one user turn
    assert wire[1]["content"][1]["input"] == {"_unparsed_arguments": "{bad"}
    assert [b["is_error"] for b in wire[2]["content"]] == [False, True]
    response = client_for(server, "anthropic").complete(
        ModelRequest(system="sys", messages=messages, tools=[], max_tokens=99)
    )
    assert response.text == "thinking" and response.tool_calls[0].name == "f"
    assert response.tool_calls[0].arguments == '{"a": 1}' and response.finish_reason == "tool_use"
    body = server.requests[0]
    assert body["max_tokens"] == 99 and body["system"] == "sys" and "tools" not in body
    assert server.paths[0] == "/v1/messages" and server.headers[0]["x-api-key"] == "key-123"


def test_anthropic_cache_tokens_count_as_input(serve):
    server = serve("anthropic", [final("x")])
    server.turns[0] = lambda body: HttpReply(
        200,
        {
            "id": "m",
            "model": "m",
            "content": [{"type": "text", "text": "hi"}],
            "stop_reason": "end_turn",
            "usage": {
                "input_tokens": 10,
                "cache_creation_input_tokens": 100,
                "cache_read_input_tokens": 1000,
                "output_tokens": 5,
            },
        },
    )
    response = client_for(server, "anthropic").complete(request())
    assert response.usage.input_tokens == 1110 and response.usage.output_tokens == 5


def test_malformed_responses_are_errors_not_crashes(serve):
    server = serve("openai", [lambda body: HttpReply(200, {"choices": []})])
    with pytest.raises(ModelCallError) as err:
        client_for(server).complete(request())
    assert err.value.error_type == "invalid_response"
