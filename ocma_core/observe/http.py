"""ASGI middleware: the request id in context for the whole request (logs, new targets) and a server span."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ocma_core.observe import tracing
from ocma_core.observe.requestid import HEADER, SCOPE_KEY, bound, new_request_id, sane

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _header(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name.encode():
            return str(value.decode("latin-1"))
    return None


class RequestObservation:
    """Binds the request id (an outer middleware's, the caller's X-Request-ID, or a new one) and, with tracing
    on, wraps the request in a server span named by its route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = str(scope.get(SCOPE_KEY) or sane(_header(scope, HEADER)) or new_request_id())
        scope[SCOPE_KEY] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == HEADER.encode() for k, _ in headers):
                    message["headers"] = [*headers, (HEADER.encode(), rid.encode())]
            await send(message)

        parent = sane(_header(scope, "traceparent"))
        attributes = {
            "http.request.method": scope["method"],
            "url.path": scope["path"],
            "ocma.request_id": rid,
        }
        with (
            bound(request_id=rid),
            tracing.span(
                f"{scope['method']} {scope['path']}", attributes, parent=parent, kind="server"
            ) as current,
        ):
            await self.app(scope, receive, send_with_id)
            route = getattr(scope.get("route"), "path", None)
            if current is not None and route:
                current.update_name(f"{scope['method']} {route}")
                current.set_attribute("http.route", route)
