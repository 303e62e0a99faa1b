"""Errors as application/problem+json (RFC 9457) with a message that says what to fix."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ocma_core.api.middleware import PROBLEM, TOO_LARGE_FIX, request_id_of
from ocma_core.api.openapi import allowed_methods
from ocma_core.errors import (
    OcmaError,
    PlatformError,
    PlatformRateLimited,
    PlatformUnavailable,
    ValidationFailed,
)
from ocma_core.field_errors import field_problems

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    412: "Precondition failed",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    503: "Service unavailable",
}
FIXES = {
    401: "Send `Authorization: Bearer <key>`; create a key with `ocma apikeys create`.",
    404: "Check the address against /openapi.json, and the id against the matching list route.",
    405: "Use one of the methods in the Allow header (see /openapi.json).",
    413: TOO_LARGE_FIX,
}


def problem(
    status: int, title: str, detail: str, request: Request | None = None, **extra: Any
) -> JSONResponse:
    """A problem+json response (with the request id when there is a request)."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    if request is not None and request_id_of(request.scope):
        body["request_id"] = request_id_of(request.scope)
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def install_handlers(app: FastAPI) -> None:
    """Turn every error into problem+json."""

    @app.exception_handler(OcmaError)
    async def ocma_error(request: Request, exc: OcmaError) -> JSONResponse:
        extra: dict[str, Any] = {}
        fix = exc.fix_for("api")
        if fix:
            extra["fix"] = fix
        if isinstance(exc, ValidationFailed) and exc.problems:
            extra["problems"] = exc.problems
        response = problem(exc.status_code, exc.title, exc.message, request, **extra)
        if isinstance(exc, PlatformRateLimited):
            wait = max(0, int((exc.retry_at - datetime.now(UTC)).total_seconds()) + 1)
            response.headers["Retry-After"] = str(wait)
        return response

    @app.exception_handler(PlatformError)
    async def platform_error(request: Request, exc: PlatformError) -> JSONResponse:
        # A platform failure a route did not word itself: say which call failed and why, never a bare 500.
        wrapped = PlatformUnavailable(
            f"A platform call failed: {exc.message}",
            fix="Try again later; `ocma status` shows the platforms.",
        )
        return await ocma_error(request, wrapped)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = field_problems(exc.errors())
        detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        fix = " ".join(dict.fromkeys(p["fix"] for p in problems))
        return problem(422, "Invalid request", detail, request, fix=fix, problems=problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail in (
            "There was an error parsing the body",
            "Invalid multipart data.",
        ):
            # FastAPI's word for a body that is not what its Content-Type says: invalid input like any other.
            fix = "Send a body that matches its Content-Type: valid UTF-8 JSON, or a multipart form for uploads."
            problems = [{"field": "request body", "in": "body", "message": "cannot be parsed", "fix": fix}]
            return problem(422, "Invalid request", "The request body cannot be parsed.", request, fix=fix,
                           problems=problems)  # fmt: skip
        if exc.status_code == 405 and not allowed_methods(request.app, request.url.path):
            # No route has exactly this path (e.g. /v1/media/ with the id left out): it names no resource.
            exc = StarletteHTTPException(404, f"Nothing is at {request.url.path}.")
        if exc.status_code == 404 and exc.detail == "Not Found":  # no route: say which address
            exc = StarletteHTTPException(404, f"Nothing is at {request.url.path}.")
        extra = {"fix": FIXES[exc.status_code]} if exc.status_code in FIXES else {}
        title = TITLES.get(exc.status_code, "Error")
        response = problem(exc.status_code, title, str(exc.detail), request, **extra)
        if exc.headers:
            response.headers.update(exc.headers)
        if exc.status_code == 405:
            allowed = allowed_methods(request.app, request.url.path)
            if allowed:
                response.headers["Allow"] = ", ".join(allowed)
        return response
