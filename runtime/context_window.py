"""Keep every model call inside the model's context window.

A server rejects any request whose prompt plus ``max_tokens`` exceeds its context length
(vLLM: HTTP 400 "... cannot be greater than max_model_len"), and an agent's history only
grows. Before each call the loop asks :meth:`ContextKeeper.fit` for the request to send:

1. the window: the route's ``contextWindow`` (the orchestrator fills it in for local
   models), else what the server reports (vLLM's ``max_model_len`` on ``/v1/models``);
   unknown means the request goes out unchanged;
2. the prompt's size: counted exactly by the server where it can (vLLM's ``/tokenize``
   applies the same chat template and tools), else estimated conservatively;
3. if the room left for the answer is at least ``reserve`` tokens, ``max_tokens`` is
   lowered to the room left and nothing else changes;
4. otherwise older turns are compacted, in this order, until the prompt fits: results
   of older tool calls are replaced by a one-line note (the call stays, so a call is
   never split from its result), then whole older turns (an assistant message with all
   its results) are dropped and the task says so. The task itself, the latest turns and
   every unresolved call are kept;
5. if even the task and the latest turn do not fit, :class:`ContextTooLong`: the task
   ends ``failed`` with the numbers, instead of the server answering 400 on every retry.

The stored history is never rewritten: compaction shapes what is sent. The loop records
each new compaction as a ``context`` marker in the history (checkpointed) and a
``context_compacted`` audit record; markers are not sent to models.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from runtime.models.base import ModelRequest

MARKER_ROLE = "context"
# Characters per token where the server cannot count: English BPE averages about 4; 3
# over-counts, so an estimate errs towards compacting early rather than a 400.
CHARS_PER_TOKEN = 3.0
# Tokens per message for the chat template's role markers (estimate only).
MESSAGE_OVERHEAD_TOKENS = 8
# Share of an estimated window kept free as a margin for the estimate's error.
ESTIMATE_MARGIN = 0.1
# The answer's room below which the history is compacted instead of the answer shortened.
MIN_RESERVE_TOKENS = 256
# The most recent turns (assistant message + its tool results) kept whole where possible.
KEEP_LATEST_TURNS = 2
# Rounds of "plan on estimates, then count exactly" before giving up.
MAX_ROUNDS = 4


class ContextTooLong(Exception):
    """The task cannot fit the model's context window, even after compaction."""


class CountingClient(Protocol):
    route_name: str

    def context_window(self) -> int | None: ...

    def count_prompt_tokens(self, request: ModelRequest) -> int | None: ...


@dataclass(frozen=True)
class Fitted:
    request: ModelRequest
    window: int | None
    prompt_tokens: int | None
    # What was compacted (for the audit log and the checkpoint), None when nothing was.
    compaction: dict[str, Any] | None = None


def sendable(messages: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The conversation without the runtime's own markers."""
    return [m for m in messages if m.get("role") != MARKER_ROLE]


def estimate_tokens(system: str, messages: Sequence[Mapping[str, Any]], tools: Sequence[Any]) -> int:
    chars = len(system) + sum(len(json.dumps(m, ensure_ascii=False)) for m in messages)
    chars += sum(len(t.name) + len(t.description) + len(json.dumps(t.parameters)) for t in tools)
    return math.ceil(chars / CHARS_PER_TOKEN) + MESSAGE_OVERHEAD_TOKENS * (len(messages) + 1)


def _message_tokens(message: Mapping[str, Any]) -> float:
    return len(json.dumps(message, ensure_ascii=False)) / CHARS_PER_TOKEN + MESSAGE_OVERHEAD_TOKENS


def turns(messages: Sequence[Mapping[str, Any]]) -> list[list[int]]:
    """Indexes of messages[1:] grouped into turns: an assistant message with the tool
    results that answer it, or a lone user message. Compaction acts on whole turns."""
    groups: list[list[int]] = []
    for i in range(1, len(messages)):
        if messages[i]["role"] == "tool" and groups:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _stub(message: Mapping[str, Any]) -> dict[str, Any]:
    content = str(message.get("content") or "")
    sha = hashlib.sha256(content.encode()).hexdigest()[:12]
    note = (
        f"[result of {message.get('name', 'the tool')} removed to fit the model's context window: "
        f"{len(content)} characters, sha256 {sha}]"
    )
    return {**message, "content": note}


@dataclass
class _Plan:
    stubbed: list[str]  # tool_call_ids whose results became a note
    dropped: int  # messages removed (the oldest whole turns)
    protected: int  # latest turns kept whole

    def apply(self, messages: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        out: list[Mapping[str, Any]] = []
        removed = 0
        for group in turns(messages):
            if removed < self.dropped:
                removed += len(group)
                continue
            for i in group:
                m = messages[i]
                out.append(_stub(m) if m["role"] == "tool" and m["tool_call_id"] in self.stubbed else m)
        task = dict(messages[0])
        if removed:
            task["content"] = (
                f"{task['content']}\n\n[{removed} earlier messages of this task were removed to fit the model's "
                "context window; what remains is the latest work.]"
            )
        return [task, *out]


def plan_compaction(messages: Sequence[Mapping[str, Any]], over: float, protected: int) -> _Plan:
    """The least compaction that saves ``over`` estimated tokens, oldest first, keeping the
    task and the last ``protected`` turns whole."""
    groups = turns(messages)
    candidates = groups[: max(0, len(groups) - protected)]
    plan = _Plan(stubbed=[], dropped=0, protected=protected)
    saved = 0.0
    for group in candidates:  # 1. results of older tool calls become a note
        for i in group:
            m = messages[i]
            if m["role"] == "tool" and saved < over:
                gain = _message_tokens(m) - _message_tokens(_stub(m))
                if gain > 0:
                    plan.stubbed.append(m["tool_call_id"])
                    saved += gain
    for group in candidates:  # 2. whole older turns go
        if saved >= over:
            break
        for i in group:
            m = messages[i]
            already = _message_tokens(_stub(m)) if m.get("tool_call_id") in plan.stubbed else _message_tokens(m)
            saved += already
        plan.dropped += len(group)
    return plan


class ContextKeeper:
    """Per route: the window (looked up once) and the fitting of each request into it."""

    def __init__(self, client: CountingClient, configured_window: int | None) -> None:
        self._client = client
        self._window = configured_window
        self._looked_up = configured_window is not None

    def window(self) -> int | None:
        if not self._looked_up:  # asked once per run: a server that does not say will not later
            self._looked_up = True
            lookup = getattr(self._client, "context_window", None)
            self._window = lookup() if lookup is not None else None
        return self._window

    def _count(self, request: ModelRequest) -> tuple[int, bool]:
        """(prompt tokens, exact?)"""
        counter = getattr(self._client, "count_prompt_tokens", None)
        exact = counter(request) if counter is not None else None
        if exact is not None:
            return exact, True
        return estimate_tokens(request.system, request.messages, request.tools), False

    def fit(self, request: ModelRequest) -> Fitted:
        """``request`` with history compacted and ``max_tokens`` lowered to fit the window."""
        request = replace(request, messages=sendable(request.messages))
        window = self.window()
        if window is None:
            return Fitted(request, None, None)
        reserve = min(request.max_tokens, max(MIN_RESERVE_TOKENS, window // 8))
        full = request.messages
        tokens, exact = self._count(request)
        first = tokens
        attempt = request
        plan = _Plan([], 0, KEEP_LATEST_TURNS)
        for round_ in range(MAX_ROUNDS + 1):
            usable = window if exact else int(window * (1 - ESTIMATE_MARGIN))
            if tokens + reserve <= usable:
                compaction = None
                if plan.stubbed or plan.dropped:
                    compaction = {
                        "route": self._client.route_name,
                        "window": window,
                        "prompt_tokens_before": first,
                        "prompt_tokens_after": tokens,
                        "counted": "server" if exact else "estimate",
                        "stubbed_tool_results": list(plan.stubbed),
                        "dropped_messages": plan.dropped,
                        "kept_messages": len(attempt.messages),
                    }
                max_tokens = min(request.max_tokens, usable - tokens)
                return Fitted(replace(attempt, max_tokens=max_tokens), window, tokens, compaction)
            if round_ == MAX_ROUNDS:
                break
            # Scale the per-message estimates to the count, so the plan aims at the right size.
            scale = tokens / max(1, estimate_tokens(attempt.system, attempt.messages, attempt.tools))
            over = (tokens + reserve - usable) / scale + _planned_savings(full, plan)
            previous = (len(plan.stubbed), plan.dropped, plan.protected)
            plan = plan_compaction(full, over, plan.protected)
            if (len(plan.stubbed), plan.dropped, plan.protected) == previous:
                if plan.protected == 1:
                    break  # nothing left to compact
                # The latest turns together are too long: keep only the very last one whole.
                plan = plan_compaction(full, over, 1)
            attempt = replace(request, messages=plan.apply(full))
            tokens, exact = self._count(attempt)
        raise ContextTooLong(
            f"the conversation no longer fits route {self._client.route_name!r}'s context window of {window} tokens: "
            f"after compacting older turns the task and the latest turn still take {tokens} tokens of prompt, "
            f"leaving less than the {reserve} needed for an answer. Raise the model's maxModelLen (or the route's "
            "contextWindow), or make the task or the tool results shorter"
        )


def _planned_savings(messages: Sequence[Mapping[str, Any]], plan: _Plan) -> float:
    """Estimated tokens a previous plan already saved (the next plan must save more)."""
    if not plan.stubbed and not plan.dropped:
        return 0.0
    before = sum(_message_tokens(m) for m in messages)
    after = sum(_message_tokens(m) for m in plan.apply(messages))
    return max(0.0, before - after)


def compaction_signature(compaction: Mapping[str, Any]) -> str:
    """What identifies a compaction (a new marker is written only when it changes)."""
    return json.dumps([compaction["stubbed_tool_results"], compaction["dropped_messages"]])


def latest_marker(messages: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    return next((m for m in reversed(messages) if m.get("role") == MARKER_ROLE), None)
