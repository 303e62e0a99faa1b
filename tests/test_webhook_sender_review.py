"""Review finding on the kept outbound-webhook clients (ocma_core.webhook_sender): one client per endpoint
origin serves every workspace's deliveries there for the life of the process, so nothing a receiver sets may
ride along on the next delivery (a cookie set for workspace A's endpoint went out with workspace B's)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ocma_core.net.policy import FetchPolicy
from ocma_core.webhook_sender import post


def test_a_cookie_set_by_one_delivery_is_not_sent_with_the_next() -> None:
    seen: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            seen.append(self.headers.get("cookie"))
            self.send_response(200)
            self.send_header("Set-Cookie", "session=workspace-a; Path=/")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    policy = FetchPolicy(allow_private=True)
    try:
        first = post(f"{base}/hooks/workspace-a", b"{}", {"content-type": "application/json"}, policy)
        second = post(f"{base}/hooks/workspace-b", b"{}", {"content-type": "application/json"}, policy)
    finally:
        server.shutdown()
        server.server_close()
    assert first.status == 200 and second.status == 200
    assert seen == [None, None]


def test_a_claim_outlasts_a_round_of_receivers_that_hang() -> None:
    """Each sender thread sends BATCH / SENDERS deliveries in a row, each up to DEADLINE_S: a claim shorter
    than that lets another worker take the same deliveries mid-round and send them a second time."""
    import math

    from ocma_core.webhook_delivery import BATCH, CLAIM
    from ocma_core.webhook_sender import DEADLINE_S, SENDERS

    assert CLAIM.total_seconds() > math.ceil(BATCH / SENDERS) * DEADLINE_S
