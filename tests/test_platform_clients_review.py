"""Review finding: `Platform.http()` keeps one client per event loop, and every `asyncio.run` (each metrics
round, each API deletion) makes a new loop; the clients of ended loops were never dropped, so each round
left a client, its loop and its open keep-alive connections behind for the life of the process."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ocma_core.platforms.base import Platform


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client's pool keeps the connection open

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files through /proc")
def test_rounds_on_new_event_loops_do_not_pile_up_clients_and_connections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OCMA_FETCH_ALLOW_PRIVATE", "1")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    platform = Platform()

    async def one_round() -> int:
        return (await platform.send("GET", url)).status_code

    try:
        assert asyncio.run(one_round()) == 200
        gc.collect()
        before = _open_fds()
        for _ in range(20):
            assert asyncio.run(one_round()) == 200
        gc.collect()
        assert len(platform._clients) <= 1
        assert _open_fds() - before < 10  # was two per round (our socket and the server's)
    finally:
        server.shutdown()
        server.server_close()
