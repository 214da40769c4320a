"""The HTTP side of `serve`: probes, metrics and the /v1 API (OpenAPI at /openapi.json; docs/api.md)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from runtime import contract
from runtime.errors import UnknownTask
from runtime.loop import stored_outcome
from runtime.service import errors
from runtime.service.auth import ADMIN, APPROVE, SUBMIT, Principal
from runtime.service.context import ServiceContext
from runtime.service.errors import ApiError
from runtime.service.events import TERMINAL_STATUSES
from runtime.service.metrics import CONTENT_TYPE
from runtime.service.submit import submit
from runtime.store import FINAL, KILLED, RUNNING, STATUSES, WAITING_APPROVAL, now_iso
from runtime.store_queue import QUEUED, decode_cursor

SSE_POLL_SECONDS = 0.2


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TaskRequest(_Body):
    task: str = Field(description="What the agent should do.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Yours; stored and returned with the task.")


class DecisionRequest(_Body):
    decision: Literal["approve", "deny"]
    reason: str = Field(default="", max_length=2000, description="Why; shown to the model on deny; in the audit log.")


class TaskCreated(BaseModel):
    task_id: str
    status: str
    agent_version: str


def principal_from_bearer(ctx: ServiceContext, authorization: str | None) -> Principal:
    if ctx.tokens is None:  # --insecure-local: loopback only, every caller is the local operator
        return Principal("local", frozenset({ADMIN}))
    if not authorization or not authorization.lower().startswith("bearer "):
        raise ApiError(401, "unauthenticated", "send Authorization: Bearer <token> (make one with `airlock-runtime token create`)")
    found = ctx.tokens.authenticate(authorization[7:].strip())
    if found is None:
        raise ApiError(401, "unauthenticated", "the bearer token is not valid")
    return found


def needs(role: str | None) -> Callable[..., Principal]:
    def dependency(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
        who = principal_from_bearer(request.app.state.ctx, authorization)
        if role is not None and not who.may(role):
            raise ApiError(403, "forbidden", f"token {who.name!r} lacks the {role!r} role (it has: {', '.join(sorted(who.roles))})")
        return who

    return dependency


def task_json(ctx: ServiceContext, task_id: str) -> dict[str, Any]:
    store = ctx.store()
    out = stored_outcome(store, task_id).to_json()  # type: ignore[arg-type]
    task = store.get_task(task_id)
    assert task is not None
    out["created_at"], out["updated_at"] = task.created_at, task.updated_at
    out["metadata"] = store.task_metadata(task_id)
    return out


def approval_json(record: Any) -> dict[str, Any]:
    req = record.request
    return {
        "approval_id": req.id,
        "task_id": req.task_id,
        "tool": req.tool,
        "arguments": req.arguments,
        "reason": req.model_note or req.reason,
        "policy_reason": req.reason,
        "created_at": req.requested_at,
        "status": record.status,
        "agent_version": req.requested_by.get("agent_version"),
        "decided_by": record.decided_by,
        "decided_at": record.decided_at,
        "decision_reason": record.decision_reason,
        "notify_status": record.notify_status,
    }


def decide(ctx: ServiceContext, approval_id: str, approve: bool, reason: str, by: Principal) -> dict[str, Any]:
    """Decide an approval and requeue its task; the approver's name goes into the audit log."""
    store = ctx.store()
    record = store.approval(approval_id)
    if record is None:
        from runtime.errors import UnknownApproval

        raise UnknownApproval(approval_id)
    version = record.request.requested_by.get("agent_version")
    audit = ctx.audit()
    head = audit.append(
        "approval_decided",
        {
            "approval_id": approval_id,
            "tool_call_id": record.request.tool_call_id,
            "tool": record.request.tool,
            "status": "approved" if approve else "denied",
            "decided_by": by.name,
            "reason": reason or None,
            "via": "api",
        },
        task_id=record.request.task_id,
        agent_version=version,
    )
    record = store.decide_approval(approval_id, approve=approve, by=by.name, reason=reason or None, requeue_version=version)
    store.record_audit_head(head)
    store.append_event(record.request.task_id, "approval_decided", {"approval_id": approval_id, "status": record.status, "decided_by": by.name})
    ctx.metrics.approvals.labels(record.status).inc()
    ctx.wake.set()
    return approval_json(record)


def create_app(ctx: ServiceContext, *, lifespan: Callable[[FastAPI], Any] | None = None) -> FastAPI:
    app = FastAPI(
        title="Airlock runtime",
        version="1",
        description="Queue agent tasks, follow them, decide approvals. Auth: `Authorization: Bearer <token>`.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    errors.install(app)

    @app.get(contract.HEALTHZ_PATH, tags=["probes"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(contract.READYZ_PATH, tags=["probes"], responses={503: {"description": "not ready, with the reason"}})
    def readyz() -> JSONResponse:
        reason = ctx.not_ready_reason()
        if reason is not None:
            return JSONResponse({"ready": False, "reason": reason}, status_code=503)
        agent = ctx.agent
        assert agent is not None
        body: dict[str, Any] = {"ready": True, "agent": agent.name, "agent_version": agent.version}
        sandboxes = ctx.sandbox_report()
        if sandboxes:
            body["sandboxes"] = sandboxes
        return JSONResponse(body)

    @app.get(contract.METRICS_PATH, tags=["probes"])
    def metrics() -> Response:
        return Response(ctx.metrics.render(), media_type=CONTENT_TYPE)

    @app.post("/v1/tasks", status_code=201, response_model=TaskCreated, tags=["tasks"])
    def create_task(
        body: TaskRequest,
        who: Annotated[Principal, Depends(needs(SUBMIT))],
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> dict[str, Any]:
        task_id = submit(ctx, body.task, body.metadata, by=who.name, idempotency_key=idempotency_key)
        task = ctx.store().get_task(task_id)
        assert task is not None
        return {"task_id": task_id, "status": task.status, "agent_version": task.agent_version}

    @app.get("/v1/tasks/{task_id}", tags=["tasks"])
    def get_task(task_id: str, who: Annotated[Principal, Depends(needs(None))]) -> dict[str, Any]:
        return task_json(ctx, task_id)

    @app.get("/v1/tasks", tags=["tasks"])
    def list_tasks(
        who: Annotated[Principal, Depends(needs(None))],
        status: Annotated[str | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, Query()] = None,
    ) -> dict[str, Any]:
        if status is not None and status not in STATUSES:
            raise ApiError(422, "invalid_field", f"status: {status!r} is not a status; allowed: {', '.join(STATUSES)}", "status")
        try:
            position = decode_cursor(cursor) if cursor else None
        except ValueError as exc:
            raise ApiError(422, "invalid_field", f"cursor: {exc}", "cursor") from None
        page = ctx.store().page_tasks(status=status, limit=limit, cursor=position)
        return {"tasks": [task_json(ctx, t) for t in page.task_ids], "next_cursor": page.next_cursor}

    @app.post("/v1/tasks/{task_id}/cancel", tags=["tasks"])
    def cancel(task_id: str, who: Annotated[Principal, Depends(needs(SUBMIT))]) -> dict[str, Any]:
        store = ctx.store()
        task = store.get_task(task_id)
        if task is None:
            raise UnknownTask(task_id)
        message = f"cancelled through the API by {who.name}"
        if task.status in FINAL or task.status in ("failed", KILLED):
            return task_json(ctx, task_id)
        audit_data = {"by": who.name, "from_status": task.status, "via": "api"}
        if task.status == RUNNING:
            store.record_audit_head(ctx.audit().append("kill_requested", audit_data, task_id=task_id, agent_version=task.agent_version))
            store.request_kill(task_id)
        if task.status in (QUEUED, WAITING_APPROVAL) and (task.status == WAITING_APPROVAL or store.withdraw(task_id)):
            store.record_audit_head(ctx.audit().append("task_killed", audit_data, task_id=task_id, agent_version=task.agent_version))
            store.set_status(task_id, KILLED, error=message)
            store.append_event(task_id, "finished", {"status": KILLED, "error": message})
        elif task.status == QUEUED:  # a worker leased it in the meantime: stop it at its first boundary
            store.request_kill(task_id)
        return task_json(ctx, task_id)

    @app.get("/v1/tasks/{task_id}/events", tags=["tasks"], response_class=StreamingResponse)
    async def events(
        task_id: str,
        request: Request,
        who: Annotated[Principal, Depends(needs(None))],
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> StreamingResponse:
        if await run_in_threadpool(lambda: ctx.store().get_task(task_id)) is None:
            raise UnknownTask(task_id)
        try:
            after = int(last_event_id) if last_event_id else 0
        except ValueError:
            raise ApiError(422, "invalid_field", "Last-Event-ID: must be an event id from this stream", "Last-Event-ID") from None

        async def stream() -> AsyncIterator[bytes]:
            position = after
            while True:
                batch = await run_in_threadpool(lambda: ctx.store().events_after(task_id, position))
                for event in batch:
                    position = event.id
                    payload = json.dumps({"task_id": task_id, "at": event.created_at, **event.data}, ensure_ascii=False)
                    yield f"id: {event.id}\nevent: {event.kind}\ndata: {payload}\n\n".encode()
                if batch:
                    continue
                task = await run_in_threadpool(lambda: ctx.store().get_task(task_id))
                if task is None or task.status in TERMINAL_STATUSES:
                    # One more look: the finishing event may have landed after our last read.
                    if not await run_in_threadpool(lambda: ctx.store().events_after(task_id, position)):
                        return
                    continue
                if ctx.draining.is_set() or await request.is_disconnected():
                    return
                yield b": keep-alive\n\n"
                await asyncio.sleep(SSE_POLL_SECONDS)

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"cache-control": "no-store"})

    @app.post("/v1/kill", tags=["kill switch"])
    def engage_kill(who: Annotated[Principal, Depends(needs(ADMIN))]) -> dict[str, bool]:
        info = {"engaged_at": now_iso(), "by": who.name}
        store = ctx.store()
        store.engage_global_kill(info)
        store.record_audit_head(ctx.audit().append("kill_switch_engaged", {**info, "via": "api"}))
        return {"engaged": True}

    @app.delete("/v1/kill", tags=["kill switch"])
    def clear_kill(who: Annotated[Principal, Depends(needs(ADMIN))]) -> dict[str, bool]:
        store = ctx.store()
        if store.clear_global_kill():
            store.record_audit_head(ctx.audit().append("kill_switch_cleared", {"by": who.name, "via": "api"}))
        ctx.wake.set()
        return {"engaged": False}

    @app.get("/v1/approvals", tags=["approvals"])
    def list_approvals(
        who: Annotated[Principal, Depends(needs(APPROVE))],
        status: Annotated[Literal["pending", "approved", "denied", "all"], Query()] = "pending",
    ) -> dict[str, Any]:
        records = ctx.store().list_approvals(include_decided=status != "pending")
        return {"approvals": [approval_json(r) for r in records if status == "all" or r.status == status]}

    @app.post("/v1/approvals/{approval_id}", tags=["approvals"])
    def decide_approval(
        approval_id: str, body: DecisionRequest, who: Annotated[Principal, Depends(needs(APPROVE))]
    ) -> dict[str, Any]:
        return decide(ctx, approval_id, body.decision == "approve", body.reason, who)

    from runtime.service.approvals_page import install as install_page

    install_page(app, ctx)
    return app


@asynccontextmanager
async def no_lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
