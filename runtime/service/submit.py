"""Accepting a task: redact, audit, store it queued (atomically with its idempotency key)."""

from __future__ import annotations

from typing import Any

from runtime.audit import digest, preview
from runtime.canonical import canonical_json, sha256_hex
from runtime.loop import new_task_id
from runtime.service.context import ServiceContext
from runtime.service.errors import ApiError
from runtime.store_api import Submission


def submit(ctx: ServiceContext, task_text: str, metadata: dict[str, Any], *, by: str, idempotency_key: str | None) -> str:
    """The task id: a new task, or the one an earlier request with the same key created."""
    agent = ctx.agent
    if agent is None:
        raise ApiError(503, "not_ready", ctx.not_ready_reason() or "not ready")
    if ctx.draining.is_set():
        raise ApiError(503, "draining", "this process is shutting down; retry (another replica takes it)")
    limit = ctx.settings.max_task_chars
    if len(task_text) > limit:
        raise ApiError(413, "too_large", f"task: {len(task_text)} characters; at most {limit} are allowed", "task")
    if not task_text.strip():
        raise ApiError(422, "invalid_field", "task: must not be empty; say what the agent should do", "task")
    request_sha = sha256_hex(canonical_json({"task": task_text, "metadata": metadata}))
    store = ctx.store()
    if idempotency_key is not None:
        earlier = _earlier(ctx, idempotency_key, request_sha)
        if earlier:
            return earlier
    task_id = new_task_id()
    text = agent.redactor.text(task_text)  # a pasted secret never reaches the model or the state
    head = ctx.audit().append(
        "task_started",
        {
            "agent": agent.name,
            "spec_path": str(agent.loaded.path) if agent.loaded.path else None,
            "task_sha256": digest(text),
            "task_preview": preview(text),
            "submitted_by": by,
            "via": "api",
        },
        task_id=task_id,
        agent_version=agent.version,
    )
    sub = Submission(
        task_id=task_id,
        agent_name=agent.name,
        agent_version=agent.version,
        spec_text=agent.loaded.text,
        spec_path=str(agent.loaded.path) if agent.loaded.path else None,
        spec_dir=str(agent.loaded.base_dir),
        task_text=text,
        request_sha256=request_sha,
        submitted_by=by,
        idempotency_key=idempotency_key,
        metadata=metadata,
    )
    try:
        store.submit_task(sub, audit_head=head)
    except Exception:
        # Two requests with one key at once: the other one won; answer with its task.
        if idempotency_key is not None:
            earlier = _earlier(ctx, idempotency_key, request_sha)
            if earlier:
                return earlier
        raise
    store.append_event(task_id, "queued", {"submitted_by": by})
    ctx.metrics.submitted.inc()
    ctx.wake.set()
    return task_id


def _earlier(ctx: ServiceContext, key: str, request_sha: str) -> str | None:
    found = ctx.store().find_submission(key)
    if found is None:
        return None
    task_id, earlier_sha = found
    if earlier_sha != request_sha:
        raise ApiError(
            409,
            "idempotency_conflict",
            f"Idempotency-Key {key!r} was used for a different request (task {task_id}); use a new key",
            "Idempotency-Key",
        )
    return task_id
