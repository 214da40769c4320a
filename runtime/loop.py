"""The agent loop: plan -> act -> observe, with the runtime deciding at every edge.

One *step* is a model call followed by the tool calls it asked for. Before every model
call: the kill switch, then the budget. After every model response and after every tool
result: a checkpoint (the response is never requested twice once recorded; a tool
result is never produced twice once recorded). Tool calls go through the policy:
`deny` and unknown tools, invalid arguments and tool exceptions become error results
the model sees; `ask` parks the task until a human decides.

Every edge also writes an audit record *before* the state change it describes, so the
audit log is never missing something that happened.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from runtime import approvals, ledger
from runtime.agent import Agent
from runtime.approvals import ApprovalRecord, notify_webhook
from runtime.audit import AuditLog, digest, preview
from runtime.budget import BudgetExceeded, Usage
from runtime.canonical import sha256_hex
from runtime.context_window import MARKER_ROLE, ContextKeeper, ContextTooLong, compaction_signature, latest_marker
from runtime.errors import UnknownTask
from runtime.models.base import DeadlineExceeded, ModelCallError, ModelRequest
from runtime.policy import Action, decide
from runtime.store import (
    BUDGET_EXCEEDED,
    FAILED,
    FINAL,
    KILLED,
    RUNNING,
    SUCCEEDED,
    WAITING_APPROVAL,
    Store,
    TaskState,
    current_owner,
)
from runtime.telemetry import TOOL_ARGUMENTS, TOOL_RESULT, Telemetry
from runtime.tool_timeout import DEFAULT_TIMEOUT_SECONDS, call_with_timeout
from runtime.tools import ToolArgumentsError, ToolContext

_VALID_CALL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class TaskOutcome:
    task_id: str
    status: str
    output: str | None
    error: str | None
    agent_version: str
    usage: Usage
    pending_approval: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "status": self.status,
            "output": self.output,
            "error": self.error,
            "agent_version": self.agent_version,
            "usage": self.usage.public(),
            "pending_approval": self.pending_approval,
        }


class TaskYielded(Exception):
    """The runner stopped at a step boundary because its worker asked it to (drain, lost lease).

    Nothing is lost: every step is checkpointed, so the task continues from there in
    whichever process leases it next.
    """


def new_task_id() -> str:
    return "tsk_" + uuid.uuid4().hex[:16]


def unresolved_calls(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tool calls of the latest assistant message that have no result yet."""
    for i in range(len(messages) - 1, -1, -1):
        if messages[i]["role"] == "assistant":
            calls = messages[i].get("tool_calls") or []
            done = {m["tool_call_id"] for m in messages[i + 1 :] if m["role"] == "tool"}
            return [c for c in calls if c["id"] not in done]
    return []


def kill_message(task_id: str, global_kill: dict[str, Any] | None, state_dir: str) -> str:
    # ``state_dir`` is a directory (SQLite) or a store URL (AIRLOCK_STORE; never holding a password).
    is_url = "://" in state_dir or state_dir == "aws:"  # runtime.contract.AWS_STORE
    flag, env = ("", f" with AIRLOCK_STORE={state_dir}") if is_url else (f" --state {state_dir}", "")
    if global_kill is not None:
        return (
            f"killed: the kill switch for all tasks was engaged at {global_kill.get('engaged_at')} by "
            f"{global_kill.get('by')}; no step starts until it is cleared with "
            f"`airlock-runtime kill{flag} --clear`, then `airlock-runtime resume {task_id}{flag}`{env}"
        )
    return f"killed by `airlock-runtime kill`; continue only explicitly with `airlock-runtime resume {task_id}{flag}`{env}"


class Runner:
    """Runs one task segment (a run or a resume) of one agent in this process."""

    def __init__(
        self,
        agent: Agent,
        store: Store,
        audit: AuditLog,
        telemetry: Telemetry | None = None,
        *,
        progress: Callable[[str], None] | None = None,
        notify: Callable[[str, dict[str, Any], float], tuple[bool, str]] = notify_webhook,
        clock: Callable[[], float] = time.monotonic,
        should_yield: Callable[[], bool] | None = None,
    ) -> None:
        self.agent = agent
        self.store = store
        self.audit = audit
        self.telemetry = telemetry or Telemetry()
        self.telemetry.redact = agent.redactor.text  # span names, attributes and statuses
        self._progress = progress
        self._notify = notify
        self._clock = clock
        self._should_yield = should_yield
        self.task_id = ""
        self.state = TaskState(messages=[], usage=Usage(), checkpoint_seq=0)
        self._t0 = 0.0
        self._elapsed_base = 0.0
        self._seen_call_ids: set[str] = set()
        self._intents_this_segment: set[str] = set()
        self._context: dict[str, ContextKeeper] = {}

    # ------------------------------------------------------------------ entry points

    def start(self, task_text: str) -> TaskOutcome:
        self.task_id = new_task_id()
        # A secret pasted into the task would otherwise reach the model and the checkpoint.
        task_text = self.agent.redactor.text(task_text)
        head = self._audit(
            "task_started",
            {
                "agent": self.agent.name,
                "spec_path": str(self.agent.loaded.path) if self.agent.loaded.path else None,
                "task_sha256": digest(task_text),
                "task_preview": preview(task_text),
            },
        )
        self.store.create_task(
            task_id=self.task_id,
            agent_name=self.agent.name,
            agent_version=self.agent.version,
            spec_text=self.agent.loaded.text,
            spec_path=str(self.agent.loaded.path) if self.agent.loaded.path else None,
            spec_dir=str(self.agent.loaded.base_dir),
            task_text=task_text,
            first_message={"role": "user", "content": task_text},
            usage=Usage(),
            owner=current_owner(),
            audit_head=head,
        )
        self.state = self.store.load_state(self.task_id)
        return self._segment()

    def resume(self, task_id: str, *, leased: bool = False) -> TaskOutcome:
        """Continue a task. ``leased``: the caller holds the task's queue lease (the service's
        workers), which already makes it the only runner, so no process check and no
        clearing of a pending per-task kill."""
        task = self.store.get_task(task_id)
        if task is None:
            raise UnknownTask(task_id)
        if task.agent_version != self.agent.version:
            raise RuntimeError(
                f"task {task_id} was started by agent version {task.agent_version}, not {self.agent.version}"
            )
        self.task_id = task_id
        if task.status in FINAL:
            return stored_outcome(self.store, task_id)  # nothing left to do: resume is idempotent
        pending = approvals.pending_for_task(self.store, task_id) if task.status == WAITING_APPROVAL else None
        if pending is not None:  # still waiting for a human
            if pending.notify_status is None:
                self._notify_pending(pending.id, pending.request.to_json())
            return stored_outcome(self.store, task_id)
        if not leased:
            self.store.claim(task_id, current_owner())
        self.state = self.store.load_state(task_id)
        self._audit("task_resumed", {"from_status": task.status, "checkpoint_seq": self.state.checkpoint_seq})
        return self._segment()

    # ------------------------------------------------------------------ the loop

    def _segment(self) -> TaskOutcome:
        self._t0 = self._clock()
        self._elapsed_base = self.state.usage.elapsed_seconds
        for m in self.state.messages:
            for call in m.get("tool_calls") or []:
                self._seen_call_ids.add(call["id"])
        default = self.agent.router.clients["default"]
        with self.telemetry.agent_span(
            agent_name=self.agent.name,
            agent_version=self.agent.version,
            task_id=self.task_id,
            provider=default.provider_name,
        ) as span:
            outcome = self._drive()
            span.set_attribute("airlock.task.status", outcome.status)
            span.set_attribute("gen_ai.usage.input_tokens", outcome.usage.input_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", outcome.usage.output_tokens)
            return outcome

    def _drive(self) -> TaskOutcome:
        while True:
            pending = unresolved_calls(self.state.messages)
            if pending:
                for call in pending:
                    stopped = self._boundary()
                    if stopped is not None:
                        return stopped
                    parked = self._handle_call(call)
                    if parked is not None:
                        return parked
                continue
            last = self.state.messages[-1]
            if last["role"] == "assistant":  # a final answer is always recorded with its status; be safe anyway
                return self._finish(SUCCEEDED, output=last.get("content") or "")
            stopped = self._boundary()
            if stopped is not None:
                return stopped
            outcome = self._model_step()
            if outcome is not None:
                return outcome

    def _boundary(self) -> TaskOutcome | None:
        """The kill switch, checked before every model call and every tool call."""
        if self._should_yield is not None and self._should_yield():
            raise TaskYielded(self.task_id)
        task_kill, global_kill = self.store.kill_state(self.task_id)
        if not task_kill and global_kill is None:
            return None
        self._say("kill switch: stopping at the step boundary")
        return self._finish(KILLED, error=kill_message(self.task_id, global_kill, getattr(self.store, "url", None) or str(self.store.state_dir)))

    def _model_step(self) -> TaskOutcome | None:
        usage = self.state.usage
        client = self.agent.router.route_for(usage.model_calls)
        route = self.agent.spec.routes()[client.route_name]
        price = self.agent.prices[client.route_name]
        self._tick()
        limits = self.agent.limits
        try:
            limits.check_before_model_call(usage, route=client.route_name, price=price)
            max_tokens = limits.output_allowance(
                usage, route=client.route_name, route_max_tokens=route.max_tokens, price=price
            )
        except BudgetExceeded as exc:
            return self._finish(BUDGET_EXCEEDED, error=str(exc))
        deadline = None
        if limits.max_seconds is not None:
            deadline = self._clock() + (limits.max_seconds - usage.elapsed_seconds)
        request = ModelRequest(
            system=self.agent.spec.instructions,
            messages=self.state.messages,
            tools=self.agent.definitions,
            max_tokens=max_tokens,
            deadline=deadline,
        )
        try:  # prompt + max_tokens inside the model's window (runtime/context_window.py)
            request = self._fit_context(client, route, request)
        except ContextTooLong as exc:
            return self._finish(FAILED, error=str(exc))
        usage.steps += 1
        self._say(f"step {usage.steps}: chat {client.model} (route {client.route_name})")
        redactor = self.agent.redactor
        try:
            with self.telemetry.chat_span(client, request, route.temperature) as chat:
                response = redactor.response(client.complete(request))  # the one way in from the model
                text = response.text
                calls = self._normalise_calls(response.tool_calls, usage.steps)
                chat.response(response, text, calls)
        except DeadlineExceeded as exc:
            self._tick()
            error = f"budget exceeded: maxSeconds={limits.max_seconds:g} ran out during a model call ({exc}) (spent: {usage.describe()})"
            return self._finish(BUDGET_EXCEEDED, error=redactor.text(error))
        except ModelCallError as exc:
            message = redactor.text(str(exc))
            self._audit(
                "model_call_failed",
                {
                    "route": client.route_name,
                    "model": client.model,
                    "error_type": exc.error_type,
                    "error": preview(message),
                },
            )
            return self._finish(FAILED, error=message)
        cost = price.cost(response.usage.input_tokens, response.usage.output_tokens)
        usage.model_calls += 1
        usage.input_tokens += response.usage.input_tokens
        usage.output_tokens += response.usage.output_tokens
        usage.cost_usd += cost
        usage.last_input_tokens[client.route_name] = response.usage.input_tokens
        assistant: dict[str, Any] = {"role": "assistant", "content": text, "tool_calls": calls}
        rendered = text + "".join(f"\n{c['name']}({c['arguments']})" for c in calls)
        self._audit(
            "model_call",
            {
                "route": client.route_name,
                "provider": client.provider_name,
                "model": client.model,
                "response_id": response.response_id,
                "finish_reason": response.finish_reason,
                "input_tokens": response.usage.input_tokens,
                "output_tokens": response.usage.output_tokens,
                "cost_usd": round(cost, 8),
                "output_sha256": digest(rendered),
                "output_preview": preview(rendered),
                "tool_calls": [{"id": c["id"], "name": c["name"]} for c in calls],
            },
        )
        if not calls:
            cut_off = response.finish_reason in ("length", "max_tokens")
            if cut_off and request.max_tokens < max_tokens:
                error = (
                    f"the answer was cut off at {request.max_tokens} output tokens, all the room route "
                    f"{client.route_name!r}'s context window had left after the prompt; raise the model's maxModelLen"
                )
                return self._finish(FAILED, output=text, error=error, new_messages=[assistant])
            if max_tokens < route.max_tokens and cut_off:
                # The budget, not the model, ended this answer: say so instead of "succeeded".
                error = (
                    f"budget exceeded: the answer was cut off at {max_tokens} output tokens, all that "
                    f"maxOutputTokens/maxCostUsd had left (spent: {usage.describe()})"
                )
                return self._finish(BUDGET_EXCEEDED, output=text, error=error, new_messages=[assistant])
            return self._finish(SUCCEEDED, output=text, new_messages=[assistant])
        # Intents for calls that will run without a human are written with the response:
        # one commit instead of two, and still strictly before the call.
        intents = []
        for call in calls:
            tool = self.agent.tools.get(call["name"])
            if tool is None or self.agent.policies.get(call["name"]) != "allow":
                continue
            try:
                tool.parse_arguments(call["arguments"])
            except ToolArgumentsError:
                continue
            intents.append((call["id"], call["name"], sha256_hex(call["arguments"])))
            self._intents_this_segment.add(call["id"])
        self._checkpoint(new_messages=[assistant], intents=intents)
        return None

    def _normalise_calls(self, tool_calls: Any, step: int) -> list[dict[str, Any]]:
        """Redact arguments; make call ids unique within the task and valid for every provider.

        Some servers reuse ids like ``call_0`` every turn; a reused id would make the
        ledger hand back another call's result, so duplicates are renamed.
        """
        out = []
        for i, call in enumerate(tool_calls):
            call_id = call.id
            if not _VALID_CALL_ID.match(call_id) or call_id in self._seen_call_ids:
                call_id = f"call_s{step}_{i}"
                n = 0
                while call_id in self._seen_call_ids:
                    n += 1
                    call_id = f"call_s{step}_{i}_{n}"
            self._seen_call_ids.add(call_id)
            out.append({"id": call_id, "name": call.name, "arguments": self.agent.redactor.text(call.arguments)})
        return out

    def _fit_context(self, client: Any, route: Any, request: ModelRequest) -> ModelRequest:
        keeper = self._context.get(client.route_name)
        if keeper is None:
            keeper = self._context[client.route_name] = ContextKeeper(client, route.context_window)
        fitted = keeper.fit(request)
        compaction = fitted.compaction
        marker = latest_marker(self.state.messages)
        if compaction is not None and (
            marker is None or compaction_signature(marker["compaction"]) != compaction_signature(compaction)
        ):
            self._say(f"context: compacted to fit {fitted.window} tokens")
            self._audit("context_compacted", compaction)
            self._checkpoint(new_messages=[{"role": MARKER_ROLE, "compaction": compaction}])
        return fitted.request

    # ------------------------------------------------------------------ tool calls

    def _handle_call(self, call: dict[str, Any]) -> TaskOutcome | None:
        call_id, name, raw = call["id"], call["name"], call["arguments"]
        decision = decide(name, self.agent.policies)
        with self.telemetry.tool_span(name, call_id) as span:
            span.set_attribute("airlock.policy.decision", decision.action.value)
            self._audit(
                "policy_decision",
                {"tool_call_id": call_id, "tool": name, "decision": decision.action.value, "reason": decision.reason},
            )
            if decision.action is Action.DENY:
                self._say(f"tool {name}: denied")
                self._error_result(call, f"error: {decision.reason}. The call was not executed.", span, "policy_denied")
                return None
            if decision.action is Action.ASK:
                record = approvals.for_call(self.store, self.task_id, call_id)
                if record is None:
                    return self._park(call, decision.reason)
                if record.status == "pending":
                    return self._waiting(record)
                self._audit(
                    "approval_applied",
                    {
                        "approval_id": record.id,
                        "tool_call_id": call_id,
                        "status": record.status,
                        "decided_by": record.decided_by,
                    },
                )
                if record.status == "denied":
                    why = f": {record.decision_reason}" if record.decision_reason else ""
                    self._say(f"tool {name}: denied by approver")
                    self._error_result(
                        call,
                        f"error: a human approver denied the call to {name!r}{why}. The call was not executed.",
                        span,
                        "approval_denied",
                    )
                    return None
            tool = self.agent.tools[name]
            try:
                kwargs = tool.parse_arguments(raw)
            except ToolArgumentsError as exc:
                self._say(f"tool {name}: invalid arguments")
                self._error_result(
                    call,
                    f"error: invalid arguments for tool {name!r}: {exc}. Fix the arguments and call the tool again.",
                    span,
                    "invalid_arguments",
                )
                return None
            self._execute(call, tool, kwargs, span)
            return None

    def _execute(self, call: dict[str, Any], tool: Any, kwargs: dict[str, Any], span: Any) -> None:
        call_id, name = call["id"], call["name"]
        entry = self.store.ledger_entry(self.task_id, call_id)
        if entry is not None and entry.done:
            # Result recorded but not yet in the conversation (cannot happen with one
            # transaction; kept so the ledger alone is enough to never run twice).
            msg = {
                "role": "tool",
                "tool_call_id": call_id,
                "name": name,
                "content": entry.result or "",
                "is_error": entry.is_error,
            }
            self._checkpoint(new_messages=[msg])
            return None
        if entry is None:
            self._checkpoint(intents=[(call_id, name, sha256_hex(call["arguments"]))])
            self._intents_this_segment.add(call_id)
        key = ledger.idempotency_key(self.task_id, call_id)
        retry = call_id not in self._intents_this_segment
        self._audit(
            "tool_call",
            {
                "tool_call_id": call_id,
                "tool": name,
                "idempotency_key": key,
                "retry": retry,
                "arguments_sha256": digest(call["arguments"]),
                "arguments_preview": preview(call["arguments"]),
            },
        )
        self._say(f"tool {name}: {'retrying (same idempotency key)' if retry else 'running'}")
        context = ToolContext(
            task_id=self.task_id,
            tool_call_id=call_id,
            idempotency_key=key,
            secrets=MappingProxyType({n: self.agent.secrets[n] for n in tool.secret_names}),
        )
        error_type = None
        try:
            timeout = self.agent.tool_timeouts.get(name) or DEFAULT_TIMEOUT_SECONDS
            content = call_with_timeout(lambda: tool.invoke(kwargs, context), timeout, name)
            details = tool.audit_fields(content) if tool.audit_fields else {}
        except (Exception, SystemExit) as exc:  # a tool's failure is the model's information, not our crash
            error_type = type(exc).__name__
            content = f"error: tool {name!r} raised {error_type}: {exc}"
            details = dict(getattr(exc, "audit_fields", {}))
        content = self.agent.redactor.text(content)
        is_error = error_type is not None
        if is_error:
            self.telemetry.tool_error(span, error_type or "error", content)
        if self.telemetry.capture_content:
            span.set_attribute(TOOL_ARGUMENTS, call["arguments"])
            span.set_attribute(TOOL_RESULT, content)
        self._audit(
            "tool_result",
            {
                "tool_call_id": call_id,
                "tool": name,
                "idempotency_key": key,
                "executed": True,
                "is_error": is_error,
                "result_sha256": digest(content),
                "result_preview": preview(content),
                **details,
            },
        )
        msg = {"role": "tool", "tool_call_id": call_id, "name": name, "content": content, "is_error": is_error}
        self._checkpoint(new_messages=[msg], result=(call_id, content, is_error))
        return None

    def _error_result(self, call: dict[str, Any], text: str, span: Any, error_type: str) -> None:
        content = self.agent.redactor.text(text)
        self.telemetry.tool_error(span, error_type, content)
        self._audit(
            "tool_result",
            {
                "tool_call_id": call["id"],
                "tool": call["name"],
                "executed": False,
                "is_error": True,
                "error_type": error_type,
                "result_sha256": digest(content),
                "result_preview": preview(content),
            },
        )
        msg = {"role": "tool", "tool_call_id": call["id"], "name": call["name"], "content": content, "is_error": True}
        self._checkpoint(new_messages=[msg])
        return None

    # ------------------------------------------------------------------ approvals

    def _park(self, call: dict[str, Any], reason: str) -> TaskOutcome:
        note = None
        for m in reversed(self.state.messages):
            if m["role"] == "assistant":
                note = m.get("content") or None
                break
        request = approvals.build_request(
            task_id=self.task_id,
            tool_call_id=call["id"],
            tool=call["name"],
            raw_arguments=call["arguments"],
            reason=reason,
            agent=self.agent.name,
            agent_version=self.agent.version,
            note=note,
        )
        payload = request.to_json()
        self._audit(
            "approval_requested",
            {
                "approval_id": request.id,
                "tool_call_id": call["id"],
                "tool": call["name"],
                "arguments_sha256": digest(call["arguments"]),
                "arguments_preview": preview(call["arguments"]),
                "reason": reason,
            },
        )
        self._say(f"tool {call['name']}: waiting for approval {request.id}")
        # Stored first, notified second: the webhook's receiver can act on it at once.
        self._checkpoint(status=WAITING_APPROVAL, approval=payload, release=True)
        record = self._notify_pending(request.id, payload)
        return self._outcome(WAITING_APPROVAL, None, None, record.to_json())

    def _notify_pending(self, approval_id: str, payload: dict[str, Any]) -> ApprovalRecord:
        """POST the approval to the webhook, if any, and record how that went.

        Also called on resume for an approval whose notification never happened (the
        process died between storing it and posting it): delivery is at least once.
        """
        url = self.agent.spec.approvals.webhook_url
        if url:
            ok, status = self._notify(url, payload, self.agent.spec.approvals.timeout_seconds)
            status = self.agent.redactor.text(status)
            approvals.record_notify_status(self.store, approval_id, status)
            head = self._audit(
                "approval_notified" if ok else "approval_notify_failed",
                {"approval_id": approval_id, "webhook": url, "status": status},
            )
            self.store.record_audit_head(head)
        else:
            approvals.record_notify_status(self.store, approval_id, "not configured")
        record = approvals.get(self.store, approval_id)
        assert record is not None
        return record

    def _waiting(self, record: ApprovalRecord) -> TaskOutcome:
        self._checkpoint(status=WAITING_APPROVAL, release=True)
        if record.notify_status is None:
            record = self._notify_pending(record.id, record.request.to_json())
        return self._outcome(WAITING_APPROVAL, None, None, record.to_json())

    # ------------------------------------------------------------------ plumbing

    def _finish(
        self,
        status: str,
        *,
        output: str | None = None,
        error: str | None = None,
        new_messages: list[dict[str, Any]] | None = None,
    ) -> TaskOutcome:
        self._tick()
        self._audit(
            f"task_{status}",
            {
                "status": status,
                "output_sha256": digest(output),
                "output_preview": preview(output),
                "error": preview(error),
                "usage": self.state.usage.public(),
            },
        )
        self._say(f"task {status}")
        self._checkpoint(new_messages=new_messages or [], status=status, output=output, error=error, release=True)
        return self._outcome(status, output, error, None)

    def _outcome(
        self, status: str, output: str | None, error: str | None, pending: dict[str, Any] | None
    ) -> TaskOutcome:
        return TaskOutcome(
            task_id=self.task_id,
            status=status,
            output=output,
            error=error,
            agent_version=self.agent.version,
            usage=self.state.usage,
            pending_approval=pending,
        )

    def _tick(self) -> None:
        self.state.usage.elapsed_seconds = self._elapsed_base + (self._clock() - self._t0)

    def _checkpoint(self, **kwargs: Any) -> None:
        self._tick()
        self.store.checkpoint(
            self.task_id, agent_version=self.agent.version, state=self.state, audit_head=self.audit.head, **kwargs
        )

    def _audit(self, kind: str, data: dict[str, Any]) -> tuple[int, str]:
        # Every record passes the redactor here, whatever a caller put in it.
        data = self.agent.redactor.value(data)
        return self.audit.append(kind, data, task_id=self.task_id, agent_version=self.agent.version)

    def _say(self, text: str) -> None:
        if self._progress is not None:
            self._progress(f"[{self.task_id}] {self.agent.redactor.text(text)}")


def stored_outcome(store: Store, task_id: str) -> TaskOutcome:
    """The current state of a task, without running anything (for `status` and `kill`)."""
    task = store.get_task(task_id)
    if task is None:
        raise UnknownTask(task_id)
    state = store.load_state(task_id)
    pending = approvals.pending_for_task(store, task_id) if task.status == WAITING_APPROVAL else None
    return TaskOutcome(
        task_id=task.id,
        status=task.status,
        output=task.output,
        error=task.error,
        agent_version=task.agent_version,
        usage=state.usage,
        pending_approval=pending.to_json() if pending else None,
    )


__all__ = ["RUNNING", "Runner", "TaskOutcome", "TaskYielded", "stored_outcome", "unresolved_calls"]
