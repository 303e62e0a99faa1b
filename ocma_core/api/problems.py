"""Errors as application/problem+json (RFC 9457) with a message that says what to fix."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ocma_core.api.middleware import PROBLEM, TOO_LARGE_FIX, request_id_of
from ocma_core.errors import OcmaError, ValidationFailed

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
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


# What to do about each kind of pydantic error, so a 422 always says how to correct the field.
_ERROR_FIXES = {
    "missing": "Add {field}.",
    "extra_forbidden": "Remove {field}: it is not a field of this request (see /openapi.json).",
    "string_too_long": "Shorten {field} to at most {max_length} characters.",
    "string_too_short": "Give {field} at least {min_length} character(s).",
    "too_long": "Send at most {max_length} item(s) in {field}.",
    "too_short": "Send at least {min_length} item(s) in {field}.",
    "greater_than_equal": "Use a value of at least {ge} for {field}.",
    "greater_than": "Use a value above {gt} for {field}.",
    "less_than_equal": "Use a value of at most {le} for {field}.",
    "less_than": "Use a value below {lt} for {field}.",
    "literal_error": "Use one of {expected} for {field}.",
    "enum": "Use one of {expected} for {field}.",
    "string_pattern_mismatch": "Make {field} match the pattern {pattern}.",
    "datetime_from_date_parsing": "Write {field} as an ISO 8601 time, e.g. 2030-01-31T09:00:00+01:00.",
    "datetime_parsing": "Write {field} as an ISO 8601 time, e.g. 2030-01-31T09:00:00+01:00.",
    "datetime_type": "Write {field} as an ISO 8601 time, e.g. 2030-01-31T09:00:00+01:00.",
    "json_invalid": "Send valid JSON (UTF-8) with Content-Type: application/json.",
    "model_attributes_type": "Send a JSON object.",
    "dict_type": "Send a JSON object in {field}.",
    "list_type": "Send a JSON array in {field}.",
    "string_type": "Send a string in {field}.",
    "int_parsing": "Send a whole number in {field}.",
    "int_type": "Send a whole number in {field}.",
    "float_parsing": "Send a number in {field}.",
    "bool_parsing": "Send true or false in {field}.",
    "string_unicode": "Send text as UTF-8.",
}


def field_problems(errors: Any) -> list[dict[str, str]]:
    """pydantic errors as {field, in, message, fix}; `field` keeps every name in the path, `body` included."""
    found = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        where = loc[0] if loc and loc[0] in ("body", "query", "path", "header", "cookie") else ""
        path = loc[1:] if where else loc
        field = ".".join(path) or (where or "request")
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        template = _ERROR_FIXES.get(str(err.get("type")), "Correct {field} (the schema is at /openapi.json).")
        try:
            fix = template.format(field=field, **(err.get("ctx") or {}))
        except (KeyError, IndexError, ValueError):
            fix = f"Correct {field} (the schema is at /openapi.json)."
        found.append({"field": field, "in": where or "body", "message": message, "fix": fix})
    return found


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
        return problem(exc.status_code, exc.title, exc.message, request, **extra)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = field_problems(exc.errors())
        detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        fix = " ".join(dict.fromkeys(p["fix"] for p in problems))
        return problem(422, "Invalid request", detail, request, fix=fix, problems=problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        extra = {"fix": FIXES[exc.status_code]} if exc.status_code in FIXES else {}
        title = TITLES.get(exc.status_code, "Error")
        response = problem(exc.status_code, title, str(exc.detail), request, **extra)
        if exc.headers:
            response.headers.update(exc.headers)
        return response
