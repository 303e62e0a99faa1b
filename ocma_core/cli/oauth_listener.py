"""A one-shot local HTTP listener that catches an OAuth redirect (for `ocma accounts connect --listen`)."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class ListenerError(Exception):
    """The callback could not be caught (port in use, or no answer in time)."""


def wait_for_callback(port: int, path: str, timeout_s: float = 300.0) -> dict[str, str]:
    """Serve on 127.0.0.1:port until the platform redirects to `path`; return its query parameters."""
    received: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            split = urlsplit(self.path)
            if split.path != path:
                self.send_error(404)
                return
            received.update({k: v[0] for k, v in parse_qs(split.query).items()})
            body = b"<p>OCMA received the authorisation. You can close this window and return to the terminal.</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    import time

    try:
        server = HTTPServer(("127.0.0.1", port), Handler)
    except OSError as exc:
        raise ListenerError(
            f"Cannot listen on 127.0.0.1:{port} ({exc.strerror}). Pass another --port, and register "
            f"http://127.0.0.1:PORT{path} as a redirect URI in the platform's app settings."
        ) from None
    deadline = time.monotonic() + timeout_s
    try:
        while not received and time.monotonic() < deadline:
            server.timeout = max(deadline - time.monotonic(), 0.1)
            server.handle_request()
    finally:
        server.server_close()
    if not received:
        raise ListenerError(
            f"No answer from the platform within {timeout_s:g} s. Run the command again and approve access "
            "in the browser."
        )
    return received
