"""The approvals page (`/approvals`): server-rendered, for the humans who decide `ask` tool calls.

Sign-in: the user pastes an API token with the `approve` role; it goes into an HttpOnly,
SameSite=Strict cookie (Secure behind HTTPS) and is checked against the tokens file on
every request, so revoking it signs the browser out. Every form carries a CSRF token,
an HMAC of the session token, so a form posted from another origin is refused even if a
browser ignored SameSite.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from runtime.service.auth import APPROVE, Principal
from runtime.service.context import ServiceContext
from runtime.service.errors import ApiError

COOKIE = "airlock_session"
PAGE = "/approvals"
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html", "j2"])
)


def csrf_token(session: str) -> str:
    return hmac.new(session.encode(), b"airlock-approvals-csrf", hashlib.sha256).hexdigest()


def _age(created_at: str) -> str:
    seconds = int((datetime.now(UTC) - datetime.fromisoformat(created_at.replace("Z", "+00:00"))).total_seconds())
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def install(app: FastAPI, ctx: ServiceContext) -> None:
    def session_of(request: Request) -> tuple[str, Principal] | None:
        token = request.cookies.get(COOKIE)
        if ctx.tokens is None:
            return ("local", Principal("local", frozenset({"admin"})))
        if not token:
            return None
        who = ctx.tokens.authenticate(token)
        return (token, who) if who is not None else None

    def render(name: str, status: int = 200, **values: Any) -> HTMLResponse:
        response = HTMLResponse(_templates.get_template(name).render(**values), status_code=status)
        response.headers["content-security-policy"] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
        response.headers["x-frame-options"] = "DENY"
        response.headers["cache-control"] = "no-store"
        return response

    @app.get(PAGE, response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return render("signin.html.j2", error=None)
        token, who = session
        if not who.may(APPROVE):
            return render("signin.html.j2", status=403, error=f"token {who.name!r} lacks the 'approve' role")
        store = ctx.store()
        rows = []
        for record in store.list_approvals():
            req = record.request
            task = store.get_task(req.task_id)
            rows.append(
                {
                    "id": req.id,
                    "tool": req.tool,
                    "arguments": req.arguments,
                    "model_note": req.model_note,
                    "policy_reason": req.reason,
                    "task_text": task.task_text if task else "",
                    "task_id": req.task_id,
                    "agent_version": req.requested_by.get("agent_version"),
                    "age": _age(req.requested_at),
                }
            )
        return render("approvals.html.j2", who=who.name, approvals=rows, csrf=csrf_token(token))

    @app.post(PAGE + "/signin", include_in_schema=False)
    def signin(request: Request, token: Annotated[str, Form(max_length=200)]) -> Response:
        if ctx.tokens is None or ctx.tokens.authenticate(token.strip()) is None:
            return render("signin.html.j2", status=401, error="that token is not valid")
        response = RedirectResponse(PAGE, status_code=303)
        secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
        response.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict", secure=secure, path="/", max_age=8 * 3600)
        return response

    @app.post(PAGE + "/signout", include_in_schema=False)
    def signout(request: Request, csrf: Annotated[str, Form()]) -> Response:
        response = RedirectResponse(PAGE, status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.post(PAGE + "/{approval_id}", include_in_schema=False)
    def decide_form(
        request: Request,
        approval_id: str,
        decision: Annotated[str, Form()],
        csrf: Annotated[str, Form()],
        reason: Annotated[str, Form(max_length=2000)] = "",
    ) -> Response:
        from runtime.service.app import decide

        session = session_of(request)
        if session is None:
            raise ApiError(401, "unauthenticated", "sign in at /approvals first")
        token, who = session
        if not hmac.compare_digest(csrf, csrf_token(token)):
            raise ApiError(403, "csrf", "the form's CSRF token does not match this session; reload the page")
        if not who.may(APPROVE):
            raise ApiError(403, "forbidden", f"token {who.name!r} lacks the 'approve' role")
        if decision not in ("approve", "deny"):
            raise ApiError(422, "invalid_field", "decision: must be approve or deny", "decision")
        decide(ctx, approval_id, decision == "approve", reason.strip(), who)
        return RedirectResponse(PAGE, status_code=303)
