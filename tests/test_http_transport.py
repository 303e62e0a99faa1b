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


@pytest.fixture(params=["request", "fetch"])
def path(request: pytest.FixtureRequest) -> str:
    """Both ways through a guarded client: httpx's `request()` and the short `fetch()` platforms use."""
    return str(request.param)


async def _send(
    client: httpx.AsyncClient, path: str, method: str, url: str, **kwargs: object
) -> httpx.Response:
    if path == "fetch":
        return await client.fetch(method, url, **kwargs)  # type: ignore[attr-defined,no-any-return]
    return await client.request(method, url, **kwargs)  # type: ignore[arg-type]


async def _post(url: str, path: str, body: bytes = b'{"text": "hi"}', **timeouts: float) -> httpx.Response:
    async with _client(**timeouts) as client:
        return await _send(client, path, "POST", url + "/v1/posts", content=body)


def test_an_answer_comes_back_whole_and_decoded(path: str) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await _read_request(reader)
        payload = gzip.compress(json.dumps({"echo": request.split(b"\r\n\r\n", 1)[1].decode()}).encode())
        writer.write(
            b"HTTP/1.1 201 Created\r\nContent-Encoding: gzip\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(payload) + payload
        )
        await writer.drain()

    response, _ = asyncio.run(_run(answer, lambda url: _post(url, path)))
    assert isinstance(response, httpx.Response)
    assert response.status_code == 201 and response.json() == {"echo": '{"text": "hi"}'}


def test_a_reply_dropped_after_the_request_is_not_a_connect_error(path: str) -> None:
    """The platform may have stored the post: this must never look like 'nothing was sent'."""

    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)

    async def call(url: str) -> object:
        with pytest.raises(httpx.TransportError) as caught:
            await _post(url, path)
        return caught.value

    error, received = asyncio.run(_run(drop, call))
    assert received == [b"connection"]
    assert isinstance(error, httpx.RemoteProtocolError)
    assert not isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)


def test_a_refused_connection_is_a_connect_error(path: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there

    with pytest.raises(httpx.ConnectError):
        asyncio.run(_post(f"http://127.0.0.1:{port}", path))


def test_no_answer_in_time_is_a_read_timeout(path: str) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(3)

    async def call(url: str) -> object:
        with pytest.raises(httpx.ReadTimeout):
            await _post(url, path, read=0.2)
        return None

    asyncio.run(_run(silent, call))


def test_a_peer_that_stops_reading_a_large_body_is_a_write_timeout(path: str) -> None:
    async def deaf(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3)

    async def call(url: str) -> object:
        with pytest.raises(httpx.WriteTimeout):
            await _post(url, path, body=b"x" * (64 * 1024 * 1024), write=0.3)
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


def test_a_cookie_one_answer_set_never_goes_out_with_the_next_request(path: str) -> None:
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
            await _send(client, path, "GET", url + "/first")
            client.cookies.set("planted", "by-a-plugin")  # a cookie set by hand is not kept either
            return await _send(client, path, "GET", url + "/second")

    asyncio.run(_run(setter, call))
    assert len(seen) == 2 and b"cookie:" not in seen[1].lower()


def test_fetch_sends_what_request_sends_and_answers_alike() -> None:
    """The platforms' short path is the same call on the wire and in what it returns."""
    seen: list[bytes] = []

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(2):
            seen.append(await _read_request(reader))
            writer.write(
                b'HTTP/1.1 201 Created\r\nX-Rate-Limit-Remaining: 7\r\nContent-Length: 11\r\n\r\n{"id": "1"}'
            )
            await writer.drain()

    async def call(url: str) -> tuple[httpx.Response, httpx.Response]:
        async with _client() as client:
            kwargs: dict[str, object] = {
                "json": {"text": "hi é"},
                "params": {"a": "1"},
                "headers": {"Authorization": "Bearer t"},
            }
            full = await client.request("POST", url + "/v1/posts", **kwargs)  # type: ignore[arg-type]
            short = await client.fetch("POST", url + "/v1/posts", **kwargs)  # type: ignore[attr-defined]
            return full, short

    pair, _ = asyncio.run(_run(echo, call))
    assert isinstance(pair, tuple)
    assert seen[0] == seen[1] and b"Bearer t" in seen[0] and b"/v1/posts?a=1" in seen[0]
    for response in pair:
        assert response.status_code == 201 and response.json() == {"id": "1"}
        assert response.headers["x-rate-limit-remaining"] == "7" and response.is_closed
        assert response.request.url.params["a"] == "1" and response.elapsed.total_seconds() >= 0


def test_fetch_with_an_argument_only_httpx_send_knows_takes_the_whole_path() -> None:
    seen: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await _read_request(reader))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()

    async def call(url: str) -> object:
        async with _client() as client:
            return await client.fetch("GET", url + "/me", auth=("user", "pass"))  # type: ignore[attr-defined]

    response, _ = asyncio.run(_run(answer, call))
    assert isinstance(response, httpx.Response) and response.text == "ok"
    assert b"authorization: Basic dXNlcjpwYXNz" in seen[0]


def test_a_failed_fetch_names_its_request() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def call() -> httpx.ConnectError:
        async with _client() as client:
            with pytest.raises(httpx.ConnectError) as caught:
                await client.fetch("POST", f"http://127.0.0.1:{port}/v1/posts")  # type: ignore[attr-defined]
            return caught.value

    error = asyncio.run(call())
    assert error.request.url.path == "/v1/posts"


def test_fetch_on_a_closed_client_is_refused_as_request_is() -> None:
    async def call() -> None:
        client = _client()
        await client.aclose()
        with pytest.raises(RuntimeError, match="client has been closed"):
            await client.fetch("GET", "http://127.0.0.1:9/")  # type: ignore[attr-defined]

    asyncio.run(call())
