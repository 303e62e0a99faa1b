"""Compressed answers from untrusted servers inflate no further than the caller reads (ocma_core.net.inflate):
a small gzip body that decodes to tens of megabytes must not be held in memory to be refused."""

from __future__ import annotations

import asyncio
import gzip
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ocma_core.net.fetch import fetch, fetch_sync
from ocma_core.net.inflate import BoundedDecoder
from ocma_core.net.policy import FetchRefused

BOMB = gzip.compress(b"\0" * 50_000_000)  # 50 MB of zeros in about 50 KB
TEXT = b"<html><body>" + b"hello world " * 5000 + b"</body></html>"


def _raw_deflate(data: bytes) -> bytes:
    squeeze = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return squeeze.compress(data) + squeeze.flush()


def _chunks(data: bytes, size: int) -> Iterator[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


@pytest.mark.parametrize(
    ("coding", "encoded"),
    [
        ("gzip", gzip.compress(TEXT)),
        ("x-gzip", gzip.compress(TEXT)),
        ("deflate", zlib.compress(TEXT)),
        ("deflate", _raw_deflate(TEXT)),  # servers that send deflate without the zlib header
        ("", TEXT),
        ("identity", TEXT),
    ],
)
def test_each_encoding_asked_for_decodes_whole_in_any_chunking(coding: str, encoded: bytes) -> None:
    for size in (1, 7, 4096, len(encoded)):
        decoder = BoundedDecoder(coding, len(TEXT))
        assert b"".join(decoder.decode(c) for c in _chunks(encoded, size)) == TEXT
        assert not decoder.past_limit


def test_a_bomb_inflates_one_byte_past_the_limit_and_no_further() -> None:
    decoder = BoundedDecoder("gzip", 1_000_000)
    out = decoder.decode(BOMB)  # all of it in one chunk: httpx would have made 50 MB of it
    assert len(out) == 1_000_001 and decoder.past_limit
    assert decoder.decode(b"more") == b""


def test_an_encoding_not_asked_for_is_refused_by_name() -> None:
    with pytest.raises(FetchRefused, match=r"does not read \(br\)"):
        BoundedDecoder("br", 100, "https://example.org/x")
    with pytest.raises(FetchRefused, match="does not read"):
        BoundedDecoder("gzip, gzip", 100)


def test_a_body_that_does_not_decode_is_refused() -> None:
    with pytest.raises(FetchRefused, match="does not decode"):
        BoundedDecoder("gzip", 100).decode(b"this is not gzip at all")


class _Served:
    """A loopback HTTP server answering every GET with `body` sent as `coding`; it notes what was asked."""

    def __init__(self, body: bytes, coding: str) -> None:
        self.accept: list[str] = []
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                served.accept.append(self.headers.get("Accept-Encoding", ""))
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                if coding:
                    self.send_header("Content-Encoding", coding)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/page"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def bomb_server() -> Iterator[_Served]:
    served = _Served(BOMB, "gzip")
    yield served
    served.close()


def test_fetch_refuses_a_bomb_past_its_cap(bomb_server: _Served) -> None:
    with pytest.raises(FetchRefused, match="larger than 1000000 bytes"):
        asyncio.run(fetch(bomb_server.url, max_bytes=1_000_000, allow_private=True))
    assert bomb_server.accept == ["gzip, deflate"]


def test_fetch_sync_truncates_a_bomb_at_its_cap(bomb_server: _Served) -> None:
    got = fetch_sync(bomb_server.url, max_bytes=1_000_000, truncate=True, allow_private=True)
    assert got.body == b"\0" * 1_000_000
    with pytest.raises(FetchRefused, match="larger than"):
        fetch_sync(bomb_server.url, max_bytes=1_000_000, allow_private=True)


def test_fetch_reads_a_compressed_page_whole() -> None:
    served = _Served(gzip.compress(TEXT), "gzip")
    try:
        got = asyncio.run(
            fetch(served.url, expect="html", allow_private=True, headers={"Accept-Encoding": "br"})
        )
    finally:
        served.close()
    assert got.body == TEXT and got.content_type == "text/html"
    assert served.accept == ["gzip, deflate"]  # a caller's header does not ask for what OCMA cannot read


def test_a_webhook_answer_is_read_back_without_inflating_a_bomb() -> None:
    import httpx

    from ocma_core.webhook_sender import READ_BACK, _read_back

    bomb = httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(BOMB))
    assert _read_back(bomb) == b"\0" * (READ_BACK + 1)
    odd = httpx.Response(200, headers={"Content-Encoding": "br"}, stream=httpx.ByteStream(b"\x8b\x00"))
    assert _read_back(odd) == b""  # not read; the status still counts
