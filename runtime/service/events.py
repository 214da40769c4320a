"""The audit tee: every audit record the runner writes also becomes a task event and metrics.

The runner writes an audit record at every edge (runtime/loop.py); the service hands it
this object in place of the plain audit log, so the SSE stream (`/v1/tasks/{id}/events`)
and the Prometheus figures are derived from exactly what the audit log says happened.
"""

from __future__ import annotations

import time
from datetime import datetime
from collections.abc import Callable
from typing import Any

from runtime.audit import AuditLog
from runtime.service.metrics import ServiceMetrics
from runtime.store_api import StateStore

def parse_iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


FINISHED_KINDS = {f"task_{s}" for s in ("succeeded", "failed", "budget_exceeded", "waiting_approval", "killed")}
TERMINAL_STATUSES = frozenset({"succeeded", "failed", "budget_exceeded", "killed"})


class AuditTee:
    def __init__(
        self,
        audit: AuditLog,
        store: StateStore,
        metrics: ServiceMetrics,
        *,
        steps: Callable[[], int] = lambda: 0,
    ) -> None:
        self.audit = audit
        self.store = store
        self.metrics = metrics
        self._steps = steps
        self._policies: dict[str, str] = {}
        self._step_started: float | None = None

    @property
    def head(self) -> tuple[int, str] | None:
        return self.audit.head

    def close(self) -> None:
        self.audit.close()

    def append(
        self, kind: str, data: dict[str, Any], *, task_id: str | None = None, agent_version: str | None = None
    ) -> tuple[int, str]:
        head = self.audit.append(kind, data, task_id=task_id, agent_version=agent_version)
        if task_id is not None:
            self._observe(task_id, kind, data)
        return head

    def _event(self, task_id: str, kind: str, data: dict[str, Any]) -> None:
        self.store.append_event(task_id, kind, data)

    def _end_step(self) -> None:
        if self._step_started is not None:
            self.metrics.step_seconds.observe(time.monotonic() - self._step_started)
            self._step_started = None

    def _observe(self, task_id: str, kind: str, data: dict[str, Any]) -> None:
        m = self.metrics
        if kind == "task_resumed":
            self._event(task_id, "started", {"from_status": data.get("from_status")})
        elif kind == "model_call":
            self._end_step()
            self._step_started = time.monotonic()
            route = data.get("route") or ""
            m.steps.inc()
            m.model_calls.labels(route, data.get("model") or "").inc()
            m.tokens.labels(route, "input").inc(data.get("input_tokens") or 0)
            m.tokens.labels(route, "output").inc(data.get("output_tokens") or 0)
            m.cost.labels(route).inc(data.get("cost_usd") or 0)
            self._event(task_id, "step", {"step": self._steps()})
            keep = ("route", "model", "input_tokens", "output_tokens", "cost_usd", "finish_reason", "tool_calls")
            self._event(task_id, "model_call", {k: data.get(k) for k in keep})
        elif kind == "model_call_failed":
            self._event(task_id, "model_call_failed", {k: data.get(k) for k in ("route", "model", "error_type", "error")})
        elif kind == "policy_decision":
            self._policies[data.get("tool_call_id") or ""] = data.get("decision") or ""
            self._event(task_id, "tool_decision", {k: data.get(k) for k in ("tool_call_id", "tool", "decision", "reason")})
        elif kind == "tool_result":
            if data.get("is_error"):
                outcome = "denied" if data.get("error_type") in ("policy_denied", "approval_denied") else "error"
            else:
                outcome = "ok"
            policy = self._policies.get(data.get("tool_call_id") or "", "unknown")
            m.tool_outcome(data.get("tool") or "", policy, outcome)
            self._event(
                task_id,
                "tool_result",
                {**{k: data.get(k) for k in ("tool_call_id", "tool", "executed", "is_error")}, "outcome": outcome},
            )
        elif kind == "approval_requested":
            m.approvals.labels("requested").inc()
            self._event(task_id, "approval_requested", {k: data.get(k) for k in ("approval_id", "tool_call_id", "tool", "reason")})
        elif kind in ("approval_notified", "approval_notify_failed"):
            ok = kind == "approval_notified"
            m.webhooks.labels("delivered" if ok else "failed").inc()
            self._event(task_id, "webhook_delivered" if ok else "webhook_failed", {k: data.get(k) for k in ("approval_id", "status")})
        elif kind in FINISHED_KINDS:
            self._end_step()
            status = data.get("status") or kind.removeprefix("task_")
            usage = data.get("usage") or {}
            m.tasks_finished.labels(status).inc()
            if status in TERMINAL_STATUSES:
                asked, denied = self.store.approvals_of_task(task_id)
                m.task_asked.observe(asked)
                m.task_denied.observe(denied)
                task = self.store.get_task(task_id)
                if task is not None:  # submission to end: queueing and approval waits included
                    m.task_seconds.observe(max(0.0, time.time() - parse_iso(task.created_at)))
                if status == "succeeded":
                    m.task_cost.observe(usage.get("cost_usd") or 0)
            self._event(task_id, "finished", {"status": status, "error": data.get("error"), "usage": usage})
