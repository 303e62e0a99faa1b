"""Refuse the NUL character in ids, query parameters and JSON bodies with a 422 that names where it is.

PostgreSQL cannot store NUL in text, and no post, id or setting has a use for it; SQLite would store it and
PostgreSQL would fail with a 500. Refusing it at the door keeps both backends alike. Uploads (multipart) are
not scanned here: files are binary, and the CSV import checks its decoded text itself.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from ocma_core.api.middleware import ASGIApp, Message, Receive, Scope, Send, request_id_of, send_problem

# A JSON \u0000 escape that is not itself escaped (an odd number of backslashes before the u).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
FIX = "Remove the NUL character (\\u0000, %00): OCMA does not store it in text."


def nul_paths(value: Any, path: str = "") -> list[str]:
    """Dotted paths of every string (or key) in a JSON value that contains NUL."""
    found: list[str] = []
    if isinstance(value, str):
        if "\x00" in value:
            found.append(path or "body")
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                found.append(where.replace("\x00", "\\u0000"))
            found.extend(nul_paths(item, where))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(nul_paths(item, f"{path}.{index}" if path else str(index)))
    return found


class RefuseNul:
    """ASGI middleware: 422 for NUL in the path, the query string or a JSON body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check one request, then pass it on (a JSON body is replayed to the app)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problems = self._url_problems(scope)
        if problems:
            await self._refuse(scope, send, problems)
            return
        if not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body"))
        body = b"".join(chunks)
        if _JSON_NUL.search(body):
            try:
                problems = [{"field": p, "in": "body"} for p in nul_paths(json.loads(body))]
            except ValueError:
                problems = []  # not JSON after all: the route's own validation will say so
            if problems:
                await self._refuse(scope, send, problems)
                return
        await self.app(
            scope, _replay([{"type": "http.request", "body": body, "more_body": False}], receive), send
        )

    @staticmethod
    def _url_problems(scope: Scope) -> list[dict[str, str]]:
        problems = []
        if "\x00" in scope.get("path", ""):
            problems.append({"field": "path", "in": "path"})
        for pair in bytes(scope.get("query_string", b"")).split(b"&"):
            name, _, value = pair.partition(b"=")
            if b"\x00" in unquote_to_bytes(value) or b"\x00" in unquote_to_bytes(name):
                problems.append({"field": unquote_to_bytes(name).decode("utf-8", "replace"), "in": "query"})
        return problems

    @staticmethod
    async def _refuse(scope: Scope, send: Send, where: list[dict[str, str]]) -> None:
        problems = [{**p, "message": "contains a NUL character", "fix": FIX} for p in where]
        fields = ", ".join(p["field"] for p in problems)
        await send_problem(
            send,
            422,
            "Invalid request",
            f"{fields}: contains a NUL character",
            fix=FIX,
            problems=problems,
            request_id=request_id_of(scope),
        )


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return b"json" in value.lower()
    return False


def _replay(messages: list[Message], then: Receive) -> Receive:
    """A receive() that hands the app the already-read messages, then whatever the server sends next."""
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        return await then()

    return receive
