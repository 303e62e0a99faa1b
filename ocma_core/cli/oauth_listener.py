"""A one-shot local HTTP listener that catches an OAuth redirect (for `ocma accounts connect --listen`)."""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


class ListenerError(Exception):
    """The callback could not be caught (port in use, or no answer in time)."""


class CallbackListener:
    """Binds 127.0.0.1:port on entry (so the link is printed only once something listens), then `wait()`s."""

    def __init__(self, port: int, path: str) -> None:
        self.port, self.path = port, path
        self.received: dict[str, str] = {}
        self._server: HTTPServer | None = None

    def __enter__(self) -> Self:
        try:
            self._server = HTTPServer(("127.0.0.1", self.port), self._handler())
        except OSError as exc:
            raise ListenerError(
                f"Cannot listen on 127.0.0.1:{self.port} ({exc.strerror}). Pass another --port, and register "
                f"http://127.0.0.1:PORT{self.path} as a redirect URI in the platform's app settings."
            ) from None
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.server_close()

    def wait(self, timeout_s: float = 300.0) -> dict[str, str]:
        """Serve until the platform redirects to the path; return its query parameters."""
        assert self._server is not None, "use CallbackListener as a context manager"
        deadline = time.monotonic() + timeout_s
        while not self.received and time.monotonic() < deadline:
            self._server.timeout = max(deadline - time.monotonic(), 0.1)
            self._server.handle_request()
        if not self.received:
            raise ListenerError(
                f"No answer from the platform within {timeout_s:g} s. Run the command again and approve "
                "access in the browser."
            )
        return self.received

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        path, received = self.path, self.received

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                split = urlsplit(self.path)
                if split.path != path:
                    self.send_error(404)
                    return
                received.update({k: v[0] for k, v in parse_qs(split.query).items()})
                body = (
                    b"<p>OCMA received the authorisation. You can close this window and return to the "
                    b"terminal.</p>"
                )
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
