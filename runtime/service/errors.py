"""Every error the API returns is ``{"error": {"code", "message", "field"}}``; never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from runtime.errors import BadInput, UnknownApproval, UnknownTask

log = logging.getLogger("airlock.service")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def _json(status: int, code: str, message: str, field: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message, field), status_code=status, headers=headers)


def _field_of(loc: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or None


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": 'Bearer realm="airlock"'} if exc.status == 401 else None
        return _json(exc.status, exc.code, exc.message, exc.field, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request", "type": "invalid"}
        field = _field_of(tuple(first.get("loc", ())))
        if first.get("type") == "json_invalid":
            return _json(400, "malformed_json", f"the request body is not valid JSON: {first.get('msg')}")
        if first.get("type") == "extra_forbidden":
            return _json(422, "unknown_field", f"unknown field {field!r}; see /openapi.json for the allowed fields", field)
        if first.get("type") == "missing":
            return _json(422, "missing_field", f"field {field!r} is required", field)
        return _json(422, "invalid_field", f"{field or 'request'}: {first.get('msg')}", field)

    @app.exception_handler(UnknownTask)
    async def _task(request: Request, exc: UnknownTask) -> JSONResponse:
        return _json(404, "not_found", str(exc), "task_id")

    @app.exception_handler(UnknownApproval)
    async def _approval(request: Request, exc: UnknownApproval) -> JSONResponse:
        return _json(404, "not_found", str(exc), "approval_id")

    @app.exception_handler(BadInput)
    async def _bad(request: Request, exc: BadInput) -> JSONResponse:
        return _json(409, "conflict", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _json(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error on %s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
        return _json(500, "internal", "internal error; the server log has the details")
