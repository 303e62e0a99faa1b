"""httpx transports that check every connection's addresses and connect to exactly the address checked.

The check happens in httpcore's network backend, where the connection is opened: the host is resolved once,
every address is checked against the policy, and the socket is opened to a checked address (TLS still uses the
host name for SNI and the certificate), so a DNS answer that changes between check and connect (rebinding)
cannot move the request. A host the operator trusts skips the check, not the bounded lookup. Redirects are
never followed by these clients; `ocma_core.net.fetch` follows them itself, each new URL going through the
same check. Proxies from the environment are not used.

httpx (pinned <0.29) builds its httpcore pool in `_pool`; the guarded transports replace it with one that has
the guarded backend, keeping httpx's TLS context and limits.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from contextvars import ContextVar
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import anyio
import httpcore
import httpx

from ocma_core.net.policy import Address, FetchPolicy

SocketOptions = Iterable[Any] | None


def _addresses(infos: Iterable[Any]) -> list[Address]:
    found: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


_deadline: ContextVar[float | None] = ContextVar("ocma_net_deadline", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Within the block, every connect, read and write of a guarded blocking client ends by `seconds` from now
    (httpx's timeouts are per phase: a peer dribbling a byte at a time would hold the caller indefinitely);
    past it they raise httpx's timeouts."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def _left(timeout: float | None, late: type[Exception]) -> float | None:
    """The phase's timeout, cut to what is left of the deadline (raises `late` once it has passed)."""
    end = _deadline.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise late("the deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A blocking stream whose every operation also respects the caller's deadline (if any)."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Read, within the phase timeout and the deadline."""
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Write, within the phase timeout and the deadline."""
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        """Close the connection."""
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        """The TLS handshake, within the phase timeout and the deadline."""
        left = _left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        """What the underlying stream says."""
        return self._inner.get_extra_info(info)


class GuardedAsyncBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks, then connects to a checked address (async)."""

    def __init__(self, policy: FetchPolicy) -> None:
        self.policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: SocketOptions = None,
    ) -> httpcore.AsyncNetworkStream:
        """Open a connection to a checked address of `host`."""
        if self.policy.is_trusted(host):
            # httpcore's AnyIO backend resolves inside anyio.fail_after(timeout): the lookup is bounded too.
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            with anyio.fail_after(timeout):
                infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = _addresses(infos)
        for address in addresses:
            self.policy.check_address(host, address, port)
        last: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: SocketOptions = None
    ) -> httpcore.AsyncNetworkStream:
        """Unix sockets are never reached by a guarded client."""
        raise httpcore.ConnectError("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        """Sleep (httpcore's retry back-off)."""
        await self._inner.sleep(seconds)


_resolver: ThreadPoolExecutor | None = None
_resolver_lock = threading.Lock()


def _resolve_within(host: str, port: int, timeout: float | None) -> list[Any]:
    """socket.getaddrinfo, given up after `timeout` seconds (None: no bound) with httpcore's ConnectTimeout.

    A lookup cannot be interrupted, and the system resolver may retry for half a minute: it runs in a small
    pool of resolver threads, so a DNS server that never answers holds up no caller past its deadline (the
    lookup ends on its own later; its answer is dropped)."""
    global _resolver
    if timeout is None:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    with _resolver_lock:
        if _resolver is None:
            _resolver = ThreadPoolExecutor(max_workers=8, thread_name_prefix="ocma-resolve")
    lookup = _resolver.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        return lookup.result(timeout)
    except FutureTimeout:
        raise httpcore.ConnectTimeout(f"resolving {host} took longer than {timeout:.1f} s") from None


class GuardedSyncBackend(httpcore.NetworkBackend):
    """Resolves, checks, then connects to a checked address (blocking), each step within any deadline()."""

    def __init__(self, policy: FetchPolicy) -> None:
        self.policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: SocketOptions = None,
    ) -> httpcore.NetworkStream:
        """Open a connection to a checked address of `host`.

        A host the operator trusts is resolved within the same bounds (the system resolver would otherwise
        wait for a silent name server for half a minute) but its addresses are not checked: it may be private
        on purpose. Either way the socket is opened to a resolved address; httpcore then starts TLS with the
        URL's host name (SNI and certificate)."""
        try:
            infos = _resolve_within(host, port, _left(timeout, httpcore.ConnectTimeout))
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if self.policy.is_trusted(host):
            # As resolved, in the resolver's order (an IPv6 link-local address keeps its scope).
            addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        else:
            checked = _addresses(infos)
            for each in checked:
                self.policy.check_address(host, each, port)
            addresses = [str(each) for each in checked]
        last: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            left = _left(timeout, httpcore.ConnectTimeout)
            try:
                stream = self._inner.connect_tcp(address, port, left, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
            else:
                return _DeadlineStream(stream)
        raise last

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: SocketOptions = None
    ) -> httpcore.NetworkStream:
        """Unix sockets are never reached by a guarded client."""
        raise httpcore.ConnectError("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        """Sleep (httpcore's retry back-off)."""
        self._inner.sleep(seconds)


def _pool_options(limits: httpx.Limits) -> dict[str, Any]:
    return {
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
    }


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """httpx's default TLS context (verifying, system CAs), made once per process: making one costs
    milliseconds, too much to pay for every client of a short round."""
    return httpx.create_ssl_context(trust_env=False)


class GuardedAsyncTransport(httpx.AsyncHTTPTransport):
    """httpx's async transport with the guarded network backend and no proxy."""

    def __init__(
        self,
        policy: FetchPolicy,
        limits: httpx.Limits = httpx.Limits(),
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(limits=limits, trust_env=False, verify=ssl_context or True)
        ssl_context = self._pool._ssl_context
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, network_backend=GuardedAsyncBackend(policy), **_pool_options(limits)
        )


class GuardedSyncTransport(httpx.HTTPTransport):
    """httpx's blocking transport with the guarded network backend and no proxy."""

    def __init__(
        self,
        policy: FetchPolicy,
        limits: httpx.Limits = httpx.Limits(),
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(limits=limits, trust_env=False, verify=ssl_context or True)
        ssl_context = self._pool._ssl_context
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context, network_backend=GuardedSyncBackend(policy), **_pool_options(limits)
        )


def cookieless_jar() -> CookieJar:
    """A cookie jar that keeps nothing: a client shared by several accounts or workspaces must not send one's
    cookies with another's requests."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


class _NoCookies(httpx.Cookies):
    """Cookies that are never kept nor sent (httpx otherwise parses every response for them)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        """Keep nothing."""

    def set_cookie_header(self, request: httpx.Request) -> None:
        """Send nothing."""


class _CookielessAsyncClient(httpx.AsyncClient):
    """An AsyncClient that keeps no cookies: a client shared by every account of a platform must not send one
    account's cookies with another's requests."""

    @property
    def cookies(self) -> httpx.Cookies:
        """Always empty."""
        return _NoCookies()

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        """Ignored: nothing is kept."""

    async def fetch(self, method: str, url: httpx.URL | str, **kwargs: Any) -> httpx.Response:
        """`request()` without the layers this client does not use (auth, redirects, cookies, hooks, proxies).

        The same request goes straight to the guarded transport and the whole body is read: less CPU per call
        on the engine's busiest path, the platforms' calls."""
        if (
            kwargs.keys() & _SEND_ONLY
            or self._mounts
            or self.auth
            or any(self.event_hooks.values())
            or self.is_closed  # httpx's own path says so: "Cannot send a request, as the client has been closed."
        ):
            return await self.request(method, url, **kwargs)
        request = self.build_request(method, url, **kwargs)
        start = time.perf_counter()
        try:
            response = await self._transport.handle_async_request(request)
        except httpx.RequestError as exc:
            exc.request = request  # as httpx's own send names the request in its errors
            raise
        response.request, response.default_encoding = request, self._default_encoding
        try:
            await response.aread()
        finally:
            await response.aclose()
        response.elapsed = datetime.timedelta(seconds=time.perf_counter() - start)
        return response


# Arguments of httpx's send (not of build_request): a call with one of them takes httpx's whole path.
_SEND_ONLY = frozenset({"auth", "follow_redirects", "stream"})


def guarded_async_client(
    *,
    timeout_s: float = 30.0,
    trusted_hosts: frozenset[str] = frozenset(),
    allow_private: bool = False,
    limits: httpx.Limits = httpx.Limits(),
    **options: Any,
) -> httpx.AsyncClient:
    """An AsyncClient whose every connection is checked (redirects are not followed)."""
    from ocma_core.net.aio import AiohttpTransport

    policy = FetchPolicy.from_env(trusted_hosts=trusted_hosts, allow_private=allow_private)
    return _CookielessAsyncClient(
        transport=AiohttpTransport(policy, limits),
        timeout=timeout_s,
        trust_env=False,
        follow_redirects=False,
        **options,
    )


def guarded_client(
    *,
    timeout_s: float = 30.0,
    trusted_hosts: frozenset[str] = frozenset(),
    allow_private: bool = False,
    **options: Any,
) -> httpx.Client:
    """A blocking Client whose every connection is checked (redirects are not followed)."""
    policy = FetchPolicy.from_env(trusted_hosts=trusted_hosts, allow_private=allow_private)
    return httpx.Client(
        transport=GuardedSyncTransport(policy),
        timeout=timeout_s,
        trust_env=False,
        follow_redirects=False,
        **options,
    )
