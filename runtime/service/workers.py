"""Workers: claim tasks from the store's queue under leases, run them, heartbeat, drain.

Each of ``concurrency`` threads loops: lease the oldest free task of this agent version,
resume it from its last checkpoint (the ledger keeps tool side effects exactly once
across takeovers), end the lease. One heartbeat thread renews every lease this process
holds every third of the lease period; a lease it could not renew (the process stalled
past expiry and another took the task over) makes its runner stop at the next step
boundary without touching the task again. A process killed with SIGKILL renews nothing:
its leases expire and another process on the same store takes the tasks over.

Drain (SIGTERM): stop claiming; each runner stops at its next step boundary (everything
up to it is checkpointed) and its lease is released, so the task is queued again at
once; the process exits when the workers are done or the drain period is over.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from runtime.errors import BadInput
from runtime.loop import Runner, TaskYielded
from runtime.service.context import ServiceContext
from runtime.service.events import AuditTee
from runtime.service.webhook import signed_notifier
from runtime.store import FAILED
from runtime.store_queue import LeaseLost
from runtime.telemetry import Telemetry, configure

log = logging.getLogger("airlock.service.workers")

IDLE_POLL_SECONDS = 0.25


class WorkerPool:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.threads: list[threading.Thread] = []
        self._telemetry: Telemetry | None = None
        self._stopped = threading.Event()
        self.owners: dict[str, str] = {}  # task id -> the worker's lease owner id

    def start(self) -> None:
        for index in range(self.ctx.settings.concurrency):
            thread = threading.Thread(target=self._work, name=f"worker-{index}", daemon=True)
            thread.start()
            self.threads.append(thread)
        heartbeat = threading.Thread(target=self._heartbeat, name="lease-heartbeat", daemon=True)
        heartbeat.start()
        threading.Thread(target=self._listen, name="queue-listener", daemon=True).start()

    def drain(self, timeout: float) -> bool:
        """Stop claiming, let runners reach a step boundary; True when every worker finished in time."""
        self.ctx.draining.set()
        self.ctx.wake.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        done = not any(t.is_alive() for t in self.threads)
        self._stopped.set()
        if self._telemetry is not None:
            self._telemetry.shutdown()
        return done

    # ------------------------------------------------------------- the loops

    def _heartbeat(self) -> None:
        ctx = self.ctx
        period = ctx.settings.lease_seconds / 3
        while not self._stopped.wait(period):
            with ctx._held_lock:
                by_owner: dict[str, list[str]] = {}
                for task_id, owner in self.owners.items():
                    by_owner.setdefault(owner, []).append(task_id)
            kept: set[str] = set()
            try:
                for owner, task_ids in by_owner.items():
                    kept |= ctx.store().renew_leases(owner, task_ids, ctx.settings.lease_seconds)
            except Exception as exc:  # a failed renewal is retried next period; expiry is the backstop
                log.warning("lease heartbeat failed: %s: %s", type(exc).__name__, exc)
                continue
            with ctx._held_lock:
                for task_ids in by_owner.values():
                    for task_id in task_ids:
                        if task_id not in kept and task_id in ctx.held:
                            log.warning("lease on task %s was lost; its runner stops at the next step boundary", task_id)
                            ctx.held[task_id] = True

    def _listen(self) -> None:
        """Stores that announce new work (PostgreSQL's LISTEN/NOTIFY) wake idle workers at once, across replicas."""
        store = self.ctx.store()
        wait_for_work = getattr(store, "wait_for_work", None)
        if wait_for_work is None:
            return  # SQLite: the idle poll is the wake-up
        while not self.ctx.draining.is_set():
            try:
                if wait_for_work(5.0):
                    self.ctx.wake.set()
            except Exception as exc:
                log.warning("queue listener failed: %s: %s", type(exc).__name__, exc)
                self._stopped.wait(IDLE_POLL_SECONDS * 4)

    def _work(self) -> None:
        ctx = self.ctx
        # Each worker is its own lease owner: a lease that expired under one worker (a stall)
        # is never mistaken for another worker's of the same process.
        owner = f"{ctx.owner}/{threading.current_thread().name}"
        while not ctx.draining.is_set():
            agent = ctx.agent
            if agent is None:
                ctx.wake.wait(IDLE_POLL_SECONDS)
                continue
            store = ctx.store()
            try:
                claim = None if store.global_kill() else store.claim_next(owner, agent.version, ctx.settings.lease_seconds)
            except Exception as exc:
                log.warning("claiming failed: %s: %s", type(exc).__name__, exc)
                claim = None
            if claim is None:
                ctx.wake.wait(IDLE_POLL_SECONDS)
                ctx.wake.clear()
                continue
            with ctx._held_lock:
                ctx.held[claim.task_id] = False
                self.owners[claim.task_id] = owner
            if claim.expired_owner:
                ctx.metrics.lease_expiries.inc()
                log.info("task %s taken over from expired lease of %s", claim.task_id, claim.expired_owner)
            try:
                self._run(claim.task_id, agent, owner)
            finally:
                with ctx._held_lock:
                    ctx.held.pop(claim.task_id, None)
                    self.owners.pop(claim.task_id, None)

    def _telemetry_for(self, agent: Any) -> Telemetry:
        if self._telemetry is None:
            self._telemetry = configure(agent.spec.telemetry)
        return self._telemetry

    def _lost(self, task_id: str) -> bool:
        with self.ctx._held_lock:
            return self.ctx.held.get(task_id, True)

    def _run(self, task_id: str, agent: Any, owner: str) -> None:
        ctx = self.ctx
        store = ctx.store()
        runner: Runner | None = None
        audit = AuditTee(ctx.audit(), store, ctx.metrics, steps=lambda: runner.state.usage.steps if runner else 0)
        notify = signed_notifier(ctx.webhook_key) if ctx.webhook_key else None
        runner = (
            Runner(
                agent,
                store,  # type: ignore[arg-type]  # the runner uses the SQLite store's ledger today
                audit,  # type: ignore[arg-type]
                self._telemetry_for(agent),
                should_yield=lambda: ctx.draining.is_set() or self._lost(task_id),
                notify=notify,
            )
            if notify
            else Runner(
                agent,
                store,  # type: ignore[arg-type]
                audit,  # type: ignore[arg-type]
                self._telemetry_for(agent),
                should_yield=lambda: ctx.draining.is_set() or self._lost(task_id),
            )
        )
        store.fence_owner = owner  # type: ignore[attr-defined]
        try:
            outcome = runner.resume(task_id, leased=True)
        except TaskYielded:
            if store.release_lease(task_id, owner, done=False):
                log.info("task %s yielded at a step boundary and is queued again", task_id)
            return
        except LeaseLost as exc:
            log.warning("task %s: lease lost, left to its new holder (%s)", task_id, exc)
            return
        except (Exception, SystemExit) as exc:  # a fault in one task must not take the worker down
            message = str(exc) if isinstance(exc, BadInput) else f"internal error: {type(exc).__name__}: {exc}"
            log.error("task %s failed: %s", task_id, message)
            lease = store.lease_of(task_id)
            if lease is not None and lease[0] == owner:  # still ours: record the failure
                store.set_status(task_id, FAILED, error=agent.redactor.text(message))
                store.release_lease(task_id, owner, done=True)
            return
        finally:
            store.fence_owner = None  # type: ignore[attr-defined]
        store.release_lease(task_id, owner, done=True)
        log.info("task %s: %s", task_id, outcome.status)
