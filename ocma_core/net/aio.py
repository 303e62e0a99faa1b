"""An httpx transport that sends through aiohttp, with the same request-forgery guard as `transport.py`.

Why: httpx's own async stack (httpcore on anyio, pure-Python HTTP parsing) costs about 2.7 ms of CPU per
request on this project's reference machine; aiohttp's C parser and connection pool cost about 0.15 ms for
the same request (benchmarks/http_client_cpu.py). Platform plugins keep httpx's API: only the transport under
`Platform.http()` changes.

The guard: host names are resolved by `GuardedResolver`, which checks every address against the policy and
hands aiohttp only checked addresses, so aiohttp connects to exactly what was checked (TLS still uses the host
name). aiohttp never calls a resolver for an IP literal, so literals are checked before the request.

Failures keep the distinction the engine depends on: only a failure to open a connection (nothing was sent)
becomes `httpx.ConnectError` / `httpx.ConnectTimeout`; a connection that breaks or times out after the request
went out becomes a read/protocol error, which a call with an effect treats as unconfirmed.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import select
import socket
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import httpx
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.client_reqrep import ConnectionKey
from aiohttp.connector import Connection
from aiohttp.resolver import ThreadedResolver
from aiohttp.tracing import Trace

from ocma_core.net.policy import FetchPolicy, FetchRefused
from ocma_core.net.transport import shared_ssl_context

STREAM_CHUNK = 64 * 1024
# A body up to this size is handed to the kernel in one write; larger ones go in chunks so that a peer that
# stops reading trips the write timeout (httpx's meaning: no progress for `write` seconds).
ONE_WRITE_BYTES = 256 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# What a kept-alive connection the server already closed fails with (a connect failure is no such thing).
_STALE = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientConnectionResetError)


class GuardedResolver(AbstractResolver):
    """Resolves a host name and returns only addresses the policy allows (or refuses the host)."""

    def __init__(self, policy: FetchPolicy) -> None:
        self.policy = policy
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Every address of `host`, each checked; FetchRefused if any is not allowed."""
        results = await self._inner.resolve(host, port, family)
        if not self.policy.is_trusted(host):
            for result in results:
                address = ipaddress.ip_address(str(result["host"]).split("%", 1)[0])
                self.policy.check_address(host, address, port)
        return results

    async def close(self) -> None:
        """Release the inner resolver."""
        await self._inner.close()


@functools.lru_cache(maxsize=1024)
def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host name spells, or None for a name (cached: a failed parse raises, on every request)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _check_literal(policy: FetchPolicy, url: httpx.URL) -> None:
    """aiohttp skips the resolver for an IP literal: check it here."""
    host = url.host
    address = _literal(host)
    if address is None:
        return
    if not policy.is_trusted(host):
        policy.check_address(host, address, url.port or (443 if url.scheme == "https" else 80))


def _origin(url: str) -> str:
    """`url` cut to scheme, host and port: its path and query may hold tokens (Discord's webhook path, Graph's
    access_token), and aiohttp puts the whole URL in some errors' text, which OCMA stores as a post's error."""
    parts = yarl.URL(url, encoded=True)
    return f"{parts.scheme}://{parts.raw_host}:{parts.port}/…" if parts.absolute else "…"


def _text(exc: BaseException, url: str | None) -> str:
    """The exception's text without the request's path and query."""
    text = str(exc)
    if url:
        text = text.replace(url, _origin(url))
    return text


def _mapped(exc: BaseException, url: str | None = None) -> Exception | None:
    """The httpx exception that means what an aiohttp exception means (None: not a transport failure)."""
    refused = _refusal_in(exc)
    if refused is not None:
        return refused
    return _transport_error(exc, _text(exc, url))


def _transport_error(exc: BaseException, text: str) -> Exception | None:
    """The httpx transport error for `exc`, with `text` (already cleaned of the URL) as its message."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(text or "timed out while connecting")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(text)
    if isinstance(exc, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return httpx.ReadTimeout(text or "timed out waiting for the answer")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError("Server disconnected without sending a complete response.")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return httpx.ReadError(text)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(text)
    if isinstance(exc, aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(text)
    if isinstance(exc, aiohttp.ClientError):
        return httpx.ReadError(text or type(exc).__name__)
    return None


def _refusal_in(exc: BaseException) -> FetchRefused | None:
    """The policy's refusal, if it is what made aiohttp fail (aiohttp may wrap resolver errors)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, FetchRefused):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


@contextmanager
def _as_httpx(url: str | None = None) -> Iterator[None]:
    try:
        yield
    except FetchRefused:
        raise
    except Exception as exc:
        mapped = _mapped(exc, url)
        if mapped is None:
            raise
        # Chained to what aiohttp's error was chained to (the OSError naming the cause), not to aiohttp's error
        # itself: its text carries the whole URL, which a logged traceback would show.
        raise mapped from exc.__cause__


class _Body(httpx.AsyncByteStream):
    """An aiohttp response body as an httpx stream."""

    def __init__(self, response: aiohttp.ClientResponse, url: str) -> None:
        self._response = response
        self._url = url

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx(self._url):
            async for chunk in self._response.content.iter_chunked(STREAM_CHUNK):
                yield chunk

    async def aclose(self) -> None:
        """Return the connection to the pool (or close it when the body was not read to the end)."""
        self._response.release()


class _CheckedConnector(aiohttp.TCPConnector):
    """Never hands out a kept-alive connection the server has already closed (httpcore checks the same): a
    request sent on it fails after "sending", which a call with an effect must count as unconfirmed."""

    async def _get(self, key: ConnectionKey, traces: list[Trace]) -> Connection | None:
        while True:
            connection = await super()._get(key, traces)
            if connection is None or not _closed_by_peer(connection):
                return connection
            connection.close()


def _closed_by_peer(connection: Connection) -> bool:
    """True when an idle connection's socket is readable: the peer closed it (or sent what nobody asked for)."""
    transport = connection.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests through one aiohttp session (created on first use, on the running loop)."""

    def __init__(self, policy: FetchPolicy, limits: httpx.Limits = httpx.Limits()) -> None:
        self.policy = policy
        self.limits = limits
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        connector = _CheckedConnector(
            limit=self.limits.max_connections or 0,
            keepalive_timeout=self.limits.keepalive_expiry or 5.0,
            resolver=GuardedResolver(self.policy),
            ssl=shared_ssl_context(),  # made once per process, as the other guarded clients
        )
        # A client nobody closed (a command's event loop simply ended) closes its connections quietly when it
        # is collected or at exit, as httpx's did, instead of aiohttp's "Unclosed client session" noise.
        weakref.finalize(self, _close_quietly, connector)
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps the cookies; aiohttp must not add its own
            auto_decompress=False,  # httpx decodes the body
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
            trust_env=False,
        )
        # aiohttp resends a PUT or DELETE once when a kept-alive connection breaks under it: the first may have
        # landed (and a failed reconnect would then read as "nothing sent"). Each request is sent once; the
        # engine decides about retrying. (aiohttp has no public switch; its own test client sets the same.)
        session._retry_connection = False
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request; see the module docstring for how failures are reported."""
        _check_literal(self.policy, request.url)
        if self._session is None or self._session.closed:
            self._session = self._open()
        timeout: dict[str, float | None] = request.extensions.get("timeout", {})
        with _as_httpx(str(request.url)):
            response = await self._send_safely(self._session, request, timeout)
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode("latin-1", "replace")
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Body(response, str(request.url)),
            request=request,
            extensions=extensions,
        )

    async def _send_safely(
        self, session: aiohttp.ClientSession, request: httpx.Request, timeout: dict[str, float | None]
    ) -> aiohttp.ClientResponse:
        """Send; a read (GET, HEAD, OPTIONS) whose kept-alive connection turns out closed is sent once more
        on a new one. aiohttp's own resend is off: it also resent PUT and DELETE, which may have landed."""
        try:
            return await self._send(session, request, timeout)
        except _STALE as exc:
            if isinstance(exc, aiohttp.ClientConnectorError) or request.method not in SAFE_METHODS:
                raise
        return await self._send(session, request, timeout)

    async def _send(
        self, session: aiohttp.ClientSession, request: httpx.Request, timeout: dict[str, float | None]
    ) -> aiohttp.ClientResponse:
        connect, pool = timeout.get("connect"), timeout.get("pool")
        # aiohttp's `connect` bounds the whole opening of a connection, the DNS lookup included, for trusted
        # and untrusted hosts alike (BaseConnector.connect runs it under ceil_timeout(timeout.connect)); a
        # lookup past it goes on in its thread, unwaited for. `sock_connect` bounds only the socket's connect.
        limits = aiohttp.ClientTimeout(
            total=None,
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=timeout.get("read"),
        )
        body = await request.aread()
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "transfer-encoding"]
        progress = _Progress(timeout.get("write"))
        data: Any = body if len(body) <= ONE_WRITE_BYTES else progress.chunks(body)
        call = session.request(
            request.method,
            yarl.URL(str(request.url), encoded=True),  # exactly as httpx encoded it (signatures, URNs)
            headers=headers,
            data=data or None,
            allow_redirects=False,
            compress=False,
            timeout=limits,
        )
        if progress.limit is None or len(body) <= ONE_WRITE_BYTES:
            return await call
        return await progress.watch(asyncio.ensure_future(call))

    async def aclose(self) -> None:
        """Close the aiohttp session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()


def _close_quietly(connector: aiohttp.BaseConnector) -> None:
    try:
        connector._close()  # the synchronous part of close(); its loop may already be gone
    except Exception:  # best effort at collection time: nothing to report to
        pass


class _Progress:
    """Write-timeout watchdog for large bodies: fails the call when no chunk was taken for `limit` s once the
    body started going out (before that nothing was sent: waiting for a connection is no write timeout)."""

    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self.last = 0.0
        self.started = False  # no chunk taken yet: still waiting for a connection (aiohttp's connect timeout)
        self.done = False

    async def chunks(self, body: bytes) -> AsyncIterator[bytes]:
        """The body in chunks, noting when each was taken."""
        loop = asyncio.get_running_loop()
        for start in range(0, len(body), STREAM_CHUNK):
            self.last, self.started = loop.time(), True
            yield body[start : start + STREAM_CHUNK]
        self.done = True

    async def watch(self, call: asyncio.Future[aiohttp.ClientResponse]) -> aiohttp.ClientResponse:
        """Wait for `call`, cancelling it if the body stops moving while it is being written."""
        assert self.limit is not None
        loop = asyncio.get_running_loop()
        self.last = loop.time()
        while True:
            finished, _ = await asyncio.wait({call}, timeout=self.limit)
            if finished:
                return call.result()
            if self.started and not self.done and loop.time() - self.last >= self.limit:
                call.cancel()
                raise httpx.WriteTimeout(f"the server took no data for {self.limit:g} s")

    # aiohttp reads the answer's headers under its own sock_read timeout once the body is written.
