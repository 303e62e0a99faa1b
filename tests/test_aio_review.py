"""Review findings on the aiohttp transport (ocma_core.net.aio): tokens in URLs stay out of error texts (the
engine stores them as a post's last error, shown to every member), and a request is never sent twice by
aiohttp itself (its retry of PUT/DELETE on a reused connection breaks the engine's exactly-once rules)."""

from __future__ import annotations

import asyncio
import traceback

import httpx
import pytest

from ocma_core.net import FetchRefused, guarded_async_client

SECRET = "EAAGtokenSECRET1234567890"


async def _serve(handler: object) -> tuple[asyncio.base_events.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)  # type: ignore[arg-type]
    return server, server.sockets[0].getsockname()[1]


def test_a_connect_timeout_does_not_carry_the_query_token() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3)  # accepts, never answers the TLS handshake

    async def main() -> BaseException:
        server, port = await _serve(silent)
        try:
            async with guarded_async_client(allow_private=True) as client:
                client.timeout = httpx.Timeout(5.0, connect=0.3)
                with pytest.raises(httpx.ConnectTimeout) as caught:
                    await client.get(f"https://127.0.0.1:{port}/me", params={"access_token": SECRET})
            return caught.value
        finally:
            server.close()

    error = asyncio.run(main())
    assert SECRET not in str(error) and SECRET not in repr(error)
    assert SECRET not in "".join(traceback.format_exception(error))


def test_a_malformed_answer_does_not_carry_the_query_token() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()
        writer.close()

    async def main() -> BaseException:
        server, port = await _serve(garbage)
        try:
            async with guarded_async_client(allow_private=True) as client:
                with pytest.raises(httpx.TransportError) as caught:
                    await client.get(f"http://127.0.0.1:{port}/me", params={"access_token": SECRET})
            return caught.value
        finally:
            server.close()

    error = asyncio.run(main())
    assert SECRET not in str(error) and SECRET not in repr(error)
    assert SECRET not in "".join(traceback.format_exception(error))


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_request_dropped_on_a_reused_connection_is_not_sent_again(method: str) -> None:
    """aiohttp resends PUT/DELETE once when a kept-alive connection breaks; the first may have landed."""
    seen: list[str] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            seen.append(head.split(b" ", 1)[0].decode())
            if head.startswith(b"GET"):
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
                continue
            break  # the write request arrived; drop the connection without an answer
        writer.close()

    async def main() -> BaseException:
        server, port = await _serve(handler)
        try:
            async with guarded_async_client(allow_private=True) as client:
                await client.get(f"http://127.0.0.1:{port}/warm")
                with pytest.raises(httpx.TransportError) as caught:
                    await client.request(method, f"http://127.0.0.1:{port}/statuses/1")
            return caught.value
        finally:
            server.close()

    error = asyncio.run(main())
    assert seen == ["GET", method]
    assert not isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)


@pytest.mark.parametrize(
    "host", ["[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[0:0:0:0:0:ffff:127.0.0.1]", "127.1", "0", "[::1]"]
)
def test_loopback_spellings_are_never_reached(host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCMA_FETCH_ALLOW_PRIVATE", raising=False)
    hits: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hits.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()

    async def main() -> None:
        server = await asyncio.start_server(answer, "0.0.0.0", 80 if False else 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with guarded_async_client() as client:
                with pytest.raises((FetchRefused, httpx.TransportError, httpx.InvalidURL)):
                    await client.get(f"http://{host}:{port}/")
        finally:
            server.close()

    asyncio.run(main())
    assert hits == []


def test_waiting_for_a_pooled_connection_is_not_a_write_timeout() -> None:
    """Nothing was sent while the big body waited for a free connection: no 'unconfirmed' WriteTimeout."""

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                ),
                0,
            )
            await reader.readexactly(length)
            await asyncio.sleep(1.0)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()

    async def main() -> list[int]:
        server, port = await _serve(slow)
        try:
            limits = httpx.Limits(max_connections=1)
            async with guarded_async_client(allow_private=True, limits=limits) as client:
                client.timeout = httpx.Timeout(10.0, write=0.3)
                url = f"http://127.0.0.1:{port}/upload"
                small = client.post(url, content=b"x")
                big = client.post(url, content=b"y" * (1024 * 1024))
                answers = await asyncio.gather(small, big)
            return [a.status_code for a in answers]
        finally:
            server.close()

    assert asyncio.run(main()) == [200, 200]


def test_a_read_on_a_connection_the_server_closed_is_sent_again() -> None:
    """A server closing each connection after its answer (no `Connection: close`): the next GET goes out
    on the closed kept-alive connection; a read is safe to send once more on a new one."""
    seen: list[bytes] = []

    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append((await reader.readuntil(b"\r\n\r\n")).split(b" ", 1)[0])
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    async def main() -> list[int]:
        server, port = await _serve(once)
        try:
            async with guarded_async_client(allow_private=True) as client:
                first = await client.get(f"http://127.0.0.1:{port}/a")
                second = await client.get(f"http://127.0.0.1:{port}/b")
            return [first.status_code, second.status_code]
        finally:
            server.close()

    assert asyncio.run(main()) == [200, 200]
    assert seen == [b"GET", b"GET"]


def test_a_post_never_goes_out_on_a_connection_the_server_closed() -> None:
    """The server closes each connection after its answer (no `Connection: close`): a POST sent on that
    closed kept-alive connection failed as 'broke after sending', i.e. unconfirmed, every second time."""
    seen: list[bytes] = []

    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append((await reader.readuntil(b"\r\n\r\n")).split(b" ", 1)[0])
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    async def main() -> list[int]:
        server, port = await _serve(once)
        try:
            async with guarded_async_client(allow_private=True) as client:
                # Right after each answer: the close is on the socket, not yet seen by the event loop.
                return [
                    (await client.post(f"http://127.0.0.1:{port}/statuses", content=b"{}")).status_code
                    for _ in range(10)
                ]
        finally:
            server.close()

    assert asyncio.run(main()) == [200] * 10
    assert seen == [b"POST"] * 10
