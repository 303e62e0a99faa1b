"""A DNS lookup that never answers holds up no guarded call past its deadline: the webhook sender promises an
answer within DEADLINE_S, and a resolver retrying for half a minute would break that promise. Hosts the
operator trusts are resolved within the same bounds (only their addresses go unchecked)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpcore
import httpx
import pytest
from httpcore._backends.sync import SyncStream

from ocma_core.net import FetchRefused, guarded_async_client
from ocma_core.net.policy import FetchPolicy
from ocma_core.net.transport import deadline, guarded_client


@pytest.fixture
def hanging_dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """getaddrinfo for *.hangs.example blocks until the returned event is set (at most 30 s);
    *.loopback.example resolves to 127.0.0.1."""
    answer = threading.Event()
    real = socket.getaddrinfo

    def lookup(host: str, *args: Any, **kwargs: Any) -> Any:
        if str(host).endswith("hangs.example"):
            answer.wait(30)
            raise socket.gaierror(socket.EAI_NONAME, "gave up")
        if str(host).endswith("loopback.example"):
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    yield answer
    answer.set()


@pytest.fixture(params=[False, True], ids=["untrusted", "trusted"])
def trusted(request: pytest.FixtureRequest) -> bool:
    """Both kinds of host: checked, and configured by the operator (not checked, bounded all the same)."""
    return bool(request.param)


def _trust(trusted: bool, host: str) -> frozenset[str]:
    return frozenset({host}) if trusted else frozenset()


def test_a_hanging_lookup_ends_at_the_deadline(hanging_dns: threading.Event, trusted: bool) -> None:
    client = guarded_client(timeout_s=30, trusted_hosts=_trust(trusted, "api.hangs.example"))
    with client, deadline(0.3), pytest.raises(httpx.ConnectTimeout) as caught:
        client.get("https://api.hangs.example/")
    assert not hanging_dns.is_set()  # given up while the lookup was still hanging
    assert "resolving api.hangs.example took longer" in str(caught.value)


def test_a_hanging_lookup_ends_at_the_connect_timeout(hanging_dns: threading.Event, trusted: bool) -> None:
    client = guarded_client(timeout_s=0.3, trusted_hosts=_trust(trusted, "api.hangs.example"))
    with client, pytest.raises(httpx.ConnectTimeout):
        client.get("https://api.hangs.example/")
    assert not hanging_dns.is_set()


def test_a_hanging_lookup_in_the_async_client_ends_at_the_connect_timeout(
    hanging_dns: threading.Event, trusted: bool
) -> None:
    """The platforms' client (aiohttp): its connect timeout covers the lookup, for trusted hosts too."""

    async def call() -> None:
        try:
            client = guarded_async_client(timeout_s=0.3, trusted_hosts=_trust(trusted, "api.hangs.example"))
            async with client:
                with pytest.raises(httpx.ConnectTimeout):
                    await client.get("https://api.hangs.example/")
            assert not hanging_dns.is_set()
        finally:
            hanging_dns.set()  # ends the lookup's thread, which asyncio.run waits for

    asyncio.run(call())


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def loopback_port() -> Iterator[int]:
    """The port of an HTTP server on 127.0.0.1 answering every GET with 200 "ok"."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_a_trusted_host_on_a_private_address_still_connects(
    hanging_dns: threading.Event, loopback_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OCMA_FETCH_ALLOW_PRIVATE", raising=False)
    url = f"http://api.loopback.example:{loopback_port}/"
    with guarded_client(timeout_s=5, trusted_hosts=frozenset({"api.loopback.example"})) as client:
        response = client.get(url)
    assert response.status_code == 200 and response.text == "ok"
    with guarded_client(timeout_s=5) as client, pytest.raises(FetchRefused):
        client.get(url)  # the same host, not trusted: its loopback address is refused


def test_tls_still_names_the_host_when_the_socket_goes_to_its_address(
    hanging_dns: threading.Event, loopback_port: int, trusted: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The socket is opened to the resolved address; SNI and the certificate check use the URL's host."""
    seen: list[tuple[str | None, str]] = []

    def start_tls(
        stream: SyncStream,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        seen.append((server_hostname, stream._sock.getpeername()[0]))
        raise httpcore.ConnectError("stop before the handshake")

    monkeypatch.setattr(SyncStream, "start_tls", start_tls)
    client = guarded_client(timeout_s=5, trusted_hosts=_trust(trusted, "api.loopback.example"))
    with client, pytest.raises(httpx.ConnectError):
        client.get(f"https://api.loopback.example:{loopback_port}/")
    assert seen and set(seen) == {("api.loopback.example", "127.0.0.1")}


def test_a_webhook_delivery_to_a_host_whose_dns_hangs_ends_with_a_timeout(
    hanging_dns: threading.Event,
) -> None:
    from ocma_core import webhook_sender

    answer = webhook_sender.post("https://hooks.hangs.example/in", b"{}", {}, FetchPolicy.from_env())
    assert answer.status is None and "timeout" in (answer.error or "")
    assert not hanging_dns.is_set()
