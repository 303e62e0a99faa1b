"""The outermost layer of every request: a request id, metrics, a body size cap and a catch-all for errors.

An exception no handler turned into a response would otherwise reach Starlette's ServerErrorMiddleware, which
answers in plain text and re-raises, so uvicorn closes the keep-alive connection and the metrics middleware never
counts it. Here it becomes a problem+json 500 carrying the request id, is logged with its traceback and counted,
and the connection stays open.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

from ocma_core.api.metrics import ERRORS, LATENCY, REQUESTS

log = logging.getLogger("ocma.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID_HEADER = "x-request-id"
SCOPE_KEY = "ocma.request_id"
_GOOD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
PROBLEM = "application/problem+json"
MiB = 1024 * 1024
# Request bodies larger than this are refused with 413 before they are read: JSON and forms are small by
# nature (a post's text is at most 100,000 characters); uploads have their own larger caps.
MAX_BODY = 2 * MiB
TOO_LARGE_FIX = "Send less: shorten the text, split the import into several files, or upload a smaller file."
MAX_UPLOAD = {"/v1/media": 1024 * MiB + MiB, "/v1/posts/import": 6 * MiB}


class BodyTooLarge(HTTPException):
    """The request body passed its cap (413); raised while reading it, so the app's handlers answer it."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413, f"The request body is larger than {limit // MiB} MiB, the most this route accepts."
        )


def body_limit(path: str) -> int:
    """The largest request body accepted on `path`."""
    return MAX_UPLOAD.get(path.rstrip("/"), MAX_BODY)


def request_id_of(scope: Scope) -> str:
    """The id of the request being served (empty outside a request)."""
    return str(scope.get(SCOPE_KEY, ""))


def _incoming_id(scope: Scope) -> str:
    """The caller's X-Request-ID when it is a sane token (so logs join up across proxies), else a new one."""
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER.encode():
            text = str(value.decode("latin-1"))
            if _GOOD_ID.match(text):
                return text
    return uuid.uuid4().hex


def problem_bytes(status: int, title: str, detail: str, **extra: Any) -> bytes:
    """A problem+json body."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return json.dumps(body).encode()


class RequestContext:
    """ASGI middleware: request id, request metrics, catch-all 500 as problem+json."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_id(scope)
        scope[SCOPE_KEY] = rid
        start = time.perf_counter()
        state = {"started": False, "status": 500}
        limit = body_limit(scope["path"])
        received = 0

        async def receive_capped() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"], state["status"] = True, int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message["headers"] = [*headers, (b"x-request-id", rid.encode())]
            await send(message)

        try:
            if _declared_length(scope) > limit:
                raise BodyTooLarge(limit)
            await self.app(scope, receive_capped, send_with_id)
        except BodyTooLarge as exc:  # declared too large up front, or read outside a route's handlers
            if not state["started"]:
                await send_problem(
                    send_with_id,
                    413,
                    "Request body too large",
                    str(exc.detail),
                    request_id=rid,
                    fix=TOO_LARGE_FIX,
                )
        except Exception:
            ERRORS.labels(scope["method"], _template(scope)).inc()
            log.exception("Unhandled error in %s %s (request id %s)", scope["method"], scope["path"], rid)
            if not state["started"]:
                await send_problem(
                    send_with_id,
                    500,
                    "Internal server error",
                    "OCMA hit an unexpected error while handling this request.",
                    request_id=rid,
                    fix=f"Try again; if it keeps failing, report request id {rid} (the server log has details).",
                )
            # else: the response is under way; nothing sensible can follow it on this connection.
        finally:
            template = _template(scope)
            LATENCY.labels(scope["method"], template).observe(time.perf_counter() - start)
            REQUESTS.labels(scope["method"], template, str(state["status"])).inc()


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


async def send_problem(send: Send, status: int, title: str, detail: str, **extra: Any) -> None:
    """Answer with a problem+json response straight from an ASGI middleware."""
    body = problem_bytes(status, title, detail, **extra)
    headers = [(b"content-type", PROBLEM.encode()), (b"content-length", str(len(body)).encode())]
    if status == 413:
        headers.append((b"connection", b"close"))  # the rest of the body is not read
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _template(scope: Scope) -> str:
    """The matched route's path template (bounded label cardinality), or 'unmatched'."""
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))
