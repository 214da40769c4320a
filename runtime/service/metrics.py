"""Prometheus metrics of one `serve` process (`GET /metrics`, no token).

Counters and histograms are fed by the audit tee (runtime/service/events.py), so every
figure comes from the same records the audit log keeps. Gauges that describe the shared
state (tasks by status, pending approvals, queue depth) are read from the store at
scrape time. Operational figures: cost per completed task is
``airlock_task_cost_usd_sum / airlock_task_cost_usd_count``; human interventions per task
come from ``airlock_task_approvals_asked`` and ``airlock_task_approvals_denied``; the
tool error rate is ``airlock_tool_error_ratio`` (this process, since start) or
``rate(airlock_tool_calls_total{outcome="error"}[5m]) / rate(airlock_tool_calls_total[5m])``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600)
_COST_BUCKETS = (0.0001, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_COUNT_BUCKETS = (0, 1, 2, 3, 5, 10)


class _StoreGauges(Collector):
    def __init__(self, snapshot: Callable[[], dict[str, Any]]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            snap = self._snapshot()
        except Exception:  # a scrape must not fail because the store is briefly unavailable
            return
        tasks = GaugeMetricFamily("airlock_tasks", "Tasks in the store by status.", labels=["status"])
        for status, count in sorted(snap["tasks"].items()):
            tasks.add_metric([status], count)
        yield tasks
        yield GaugeMetricFamily("airlock_approvals_pending", "Approvals waiting for a human.", value=snap["pending"])
        yield GaugeMetricFamily("airlock_queue_depth", "Tasks queued and not leased by any worker.", value=snap["queue"])
        yield GaugeMetricFamily(
            "airlock_tool_error_ratio",
            "Share of tool calls in this process that ended in an error result.",
            value=snap["tool_error_ratio"],
        )
        yield GaugeMetricFamily("airlock_leases_held", "Task leases this process holds.", value=snap["leases_held"])


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.steps = Counter("airlock_steps", "Agent steps (each starts with a model call).", registry=r)
        self.model_calls = Counter("airlock_model_calls", "Model calls.", ["route", "model"], registry=r)
        self.tokens = Counter("airlock_model_tokens", "Model tokens.", ["route", "type"], registry=r)
        self.cost = Counter("airlock_model_cost_usd", "Model cost in USD.", ["route"], registry=r)
        self.tool_calls = Counter(
            "airlock_tool_calls", "Tool calls by tool, policy and outcome.", ["tool", "policy", "outcome"], registry=r
        )
        self.approvals = Counter("airlock_approvals", "Approvals by event.", ["event"], registry=r)
        self.webhooks = Counter("airlock_approval_webhooks", "Approval webhook deliveries.", ["outcome"], registry=r)
        self.lease_expiries = Counter(
            "airlock_lease_expiries", "Tasks taken over after their previous lease expired.", registry=r
        )
        self.tasks_finished = Counter("airlock_tasks_finished", "Task segments ended, by status.", ["status"], registry=r)
        self.submitted = Counter("airlock_tasks_submitted", "Tasks accepted by the API.", registry=r)
        self.step_seconds = Histogram(
            "airlock_step_duration_seconds", "Duration of one step.", buckets=_DURATION_BUCKETS, registry=r
        )
        self.task_seconds = Histogram(
            "airlock_task_duration_seconds",
            "Seconds from submission to the end of a task (queueing and approval waits included).",
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.task_cost = Histogram(
            "airlock_task_cost_usd", "Model cost of each succeeded task.", buckets=_COST_BUCKETS, registry=r
        )
        self.task_asked = Histogram(
            "airlock_task_approvals_asked", "Approvals asked per finished task.", buckets=_COUNT_BUCKETS, registry=r
        )
        self.task_denied = Histogram(
            "airlock_task_approvals_denied", "Approvals denied per finished task.", buckets=_COUNT_BUCKETS, registry=r
        )
        self._lock = threading.Lock()
        self._tool_total = 0
        self._tool_errors = 0

    def tool_outcome(self, tool: str, policy: str, outcome: str) -> None:
        self.tool_calls.labels(tool, policy, outcome).inc()
        with self._lock:
            self._tool_total += 1
            self._tool_errors += outcome != "ok"

    def tool_error_ratio(self) -> float:
        with self._lock:
            return self._tool_errors / self._tool_total if self._tool_total else 0.0

    def watch_store(self, snapshot: Callable[[], dict[str, Any]]) -> None:
        self.registry.register(_StoreGauges(snapshot))

    def render(self) -> bytes:
        return generate_latest(self.registry)
