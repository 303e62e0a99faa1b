"""The aiohttp transport under guarded clients (ocma_core.net.aio): the engine's exactly-once rules depend on
"could not connect" (nothing sent) being told apart from "broke after sending", so each failure is staged by a
real socket server and checked for the httpx type it becomes."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from collections.abc import Awaitable, Callable

import httpx
import pytest

from ocma_core.net import FetchRefused, guarded_async_client

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head + (await reader.readexactly(length) if length else b"")


async def _run(handler: Handler, call: Callable[[str], Awaitable[object]]) -> tuple[object, list[bytes]]:
    """Serve `handler` on a loopback port, run `call(base_url)`, and return its result and what was received."""
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(b"connection")
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        return await call(f"http://127.0.0.1:{port}"), received
    finally:
        server.close()


def _client(**timeouts: float) -> httpx.AsyncClient:
    client = guarded_async_client(allow_private=True)
    client.timeout = httpx.Timeout(5.0, **timeouts)
    return client


async def _post(url: str, body: bytes = b'{"text": "hi"}', **timeouts: float) -> httpx.Response:
    async with _client(**timeouts) as client:
        return await client.post(url + "/v1/posts", content=body)


def test_an_answer_comes_back_whole_and_decoded() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await _read_request(reader)
        payload = gzip.compress(json.dumps({"echo": request.split(b"\r\n\r\n", 1)[1].decode()}).encode())
        writer.write(
            b"HTTP/1.1 201 Created\r\nContent-Encoding: gzip\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(payload) + payload
        )
        await writer.drain()

    response, _ = asyncio.run(_run(answer, _post))
    assert isinstance(response, httpx.Response)
    assert response.status_code == 201 and response.json() == {"echo": '{"text": "hi"}'}


def test_a_reply_dropped_after_the_request_is_not_a_connect_error() -> None:
    """The platform may have stored the post: this must never look like 'nothing was sent'."""

    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)

    async def call(url: str) -> object:
        with pytest.raises(httpx.TransportError) as caught:
            await _post(url)
        return caught.value

    error, received = asyncio.run(_run(drop, call))
    assert received == [b"connection"]
    assert isinstance(error, httpx.RemoteProtocolError)
    assert not isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)


def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there

    with pytest.raises(httpx.ConnectError):
        asyncio.run(_post(f"http://127.0.0.1:{port}"))


def test_no_answer_in_time_is_a_read_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(3)

    async def call(url: str) -> object:
        with pytest.raises(httpx.ReadTimeout):
            await _post(url, read=0.2)
        return None

    asyncio.run(_run(silent, call))


def test_a_peer_that_stops_reading_a_large_body_is_a_write_timeout() -> None:
    async def deaf(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3)

    async def call(url: str) -> object:
        with pytest.raises(httpx.WriteTimeout):
            await _post(url, body=b"x" * (64 * 1024 * 1024), write=0.3)
        return None

    asyncio.run(_run(deaf, call))


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_a_guarded_client_never_connects_to_loopback(host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCMA_FETCH_ALLOW_PRIVATE", raising=False)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    async def call(url: str) -> object:
        port = url.rsplit(":", 1)[1]
        async with guarded_async_client() as client:
            with pytest.raises(FetchRefused) as caught:
                await client.get(f"http://{host}:{port}/")
        return caught.value

    refusal, received = asyncio.run(_run(answer, call))
    assert received == [] and "not a public address" in str(refusal)


def test_a_cookie_one_answer_set_never_goes_out_with_the_next_request() -> None:
    """Platform clients serve every account of a platform: one account's cookies must not reach another's."""
    seen: list[bytes] = []

    async def setter(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(2):
            seen.append(await _read_request(reader))
            writer.write(
                b"HTTP/1.1 200 OK\r\nSet-Cookie: session=account-a; Path=/\r\nContent-Length: 2\r\n\r\nok"
            )
            await writer.drain()

    async def call(url: str) -> object:
        async with _client() as client:
            await client.get(url + "/first")
            client.cookies.set("planted", "by-a-plugin")  # a cookie set by hand is not kept either
            return await client.get(url + "/second")

    asyncio.run(_run(setter, call))
    assert len(seen) == 2 and b"cookie:" not in seen[1].lower()
