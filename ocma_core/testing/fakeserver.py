"""A small threaded HTTP server on loopback for imitating platform APIs in tests."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

Handler = Callable[["FakeRequest"], "FakeResponse | dict[str, Any] | list[Any] | None"]


@dataclass
class FakeRequest:
    """A request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # named groups of the route pattern
    query_all: dict[str, list[str]] = field(default_factory=dict)  # every value of repeated parameters

    def json(self) -> Any:
        """The body parsed as JSON (None when empty)."""
        return json.loads(self.body) if self.body else None

    def form(self) -> dict[str, str]:
        """The body parsed as application/x-www-form-urlencoded."""
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8"), keep_blank_values=True).items()}

    def multipart(self) -> dict[str, FakePart]:
        """The body parsed as multipart/form-data: each part by its field name (uploads, payload_json)."""
        from email.parser import BytesParser
        from email.policy import HTTP

        head = f"Content-Type: {self.header('content-type')}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + self.body)
        parts: dict[str, FakePart] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str):
                parts[name] = FakePart(
                    name=name,
                    data=payload if isinstance(payload, bytes) else b"",
                    filename=part.get_filename(),
                    content_type=part.get_content_type(),
                )
        return parts

    def header(self, name: str, default: str = "") -> str:
        """A header, case-insensitively."""
        return self.headers.get(name.lower(), default)

    def bearer(self) -> str | None:
        """The bearer token of the Authorization header."""
        value = self.header("authorization")
        return value[7:] if value.lower().startswith("bearer ") else None


@dataclass(frozen=True)
class FakePart:
    """One part of a multipart/form-data body."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str = "text/plain"

    def text(self) -> str:
        """The part's data as UTF-8 text."""
        return self.data.decode("utf-8")

    def json(self) -> Any:
        """The part's data parsed as JSON (e.g. Discord's payload_json)."""
        return json.loads(self.data)


@dataclass
class FakeResponse:
    """What the fake answers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # sleep before answering (latency, or a timeout after the work was done)

    def encoded(self) -> tuple[bytes, str]:
        """Body bytes and content type."""
        if self.body is None:
            return b"", self.headers.get("Content-Type", "application/json")
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("Content-Type", "application/octet-stream")
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), self.headers.get("Content-Type", "text/plain; charset=utf-8")
        return json.dumps(self.body).encode("utf-8"), self.headers.get("Content-Type", "application/json")


class _Server(ThreadingHTTPServer):
    request_queue_size = 512  # many clients connect at once in load tests
    daemon_threads = True


class FakeServer:
    """Routes by method and regex path; records every request; runs in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.requests: list[FakeRequest] = []
        self.lock = threading.RLock()
        self._server = _Server((host, port), self._handler_class())
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT"""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Register a handler for METHOD and a full-match path regex (named groups become params)."""

        def decorator(handler: Handler) -> Handler:
            self._routes.append((method.upper(), re.compile(pattern), handler))
            return handler

        return decorator

    def start(self) -> Self:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests_to(self, method: str, path_pattern: str) -> list[FakeRequest]:
        """Recorded requests matching METHOD and a path regex."""
        rx = re.compile(path_pattern)
        with self.lock:
            return [r for r in self.requests if r.method == method.upper() and rx.fullmatch(r.path)]

    def dispatch(self, request: FakeRequest) -> FakeResponse:
        """Find the route and call it; 404 problem body when none matches."""
        with self.lock:
            self.requests.append(request)
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if method == request.method and match:
                request.params = {k: v for k, v in match.groupdict().items() if v is not None}
                result = handler(request)
                if isinstance(result, FakeResponse):
                    return result
                return FakeResponse(200, result)
        return FakeResponse(
            404, {"title": "Not Found", "detail": f"no route {request.method} {request.path}"}
        )

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body are two writes: without NODELAY, Nagle + delayed ACK add ~40 ms each.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _handle(self) -> None:
                import time

                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if len(body) < length:  # the client went away mid-request: a real server processes nothing
                    self.close_connection = True
                    return
                split = urlsplit(self.path)
                request = FakeRequest(
                    method=self.command,
                    path=split.path,
                    query={k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()},
                    query_all=parse_qs(split.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                try:
                    response = server.dispatch(request)
                except Exception as exc:  # a bug in a fake must show up as a 500, not a hang
                    response = FakeResponse(500, {"title": "fake server error", "detail": repr(exc)})
                if response.delay_s:
                    time.sleep(response.delay_s)
                payload, content_type = response.encoded()
                try:
                    self.send_response(response.status)
                    for name, value in response.headers.items():
                        if name.lower() != "content-type":
                            self.send_header(name, value)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        return _Handler
