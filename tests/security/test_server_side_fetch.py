"""Findings "operator secrets leave through workspace settings" (image URL half) and "admin-set connection
endpoints reach internal hosts": every server-side fetch of a URL goes through the guarded fetcher."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpcore
import httpx
import pytest

from ocma_core.errors import ConfigError, OcmaError, PlatformError
from ocma_core.net import FetchRefused, fetch, is_public
from ocma_core.testing.fakeserver import FakeResponse, FakeServer

SECRET = "AKIA-INTERNAL-SECRET-0123"


@pytest.fixture
def internal() -> Iterator[FakeServer]:
    """An 'internal' service on loopback that answers everything with a secret."""
    server = FakeServer()

    @server.route("GET", r".*")
    def _get(request: Any) -> FakeResponse:
        return FakeResponse(200, f'{{"AccessKeyId": "{SECRET}"}}', {"Content-Type": "application/json"})

    @server.route("POST", r".*")
    def _post(request: Any) -> FakeResponse:
        return FakeResponse(500, f"internal error page {SECRET}", {"Content-Type": "text/html"})

    with server:
        yield server


@pytest.fixture
def default_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's default: no private addresses (the test kit allows them for the fakes)."""
    monkeypatch.delenv("OCMA_FETCH_ALLOW_PRIVATE", raising=False)
    monkeypatch.delenv("OCMA_BLUESKY_LINK_CARD_ALLOW_PRIVATE", raising=False)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.100.100.200",
        "0.0.0.0",
        "::1",
        "fd00:ec2::254",
        "fe80::1",
        "::ffff:127.0.0.1",
        "2002:7f00:1::1",
        "64:ff9b::a00:1",
        "224.0.0.1",
    ],
)
def test_private_loopback_link_local_and_metadata_addresses_are_not_public(address: str) -> None:
    import ipaddress

    assert not is_public(ipaddress.ip_address(address))


def test_the_default_refuses_loopback_and_never_connects(internal: FakeServer, default_policy: None) -> None:
    with pytest.raises(FetchRefused) as caught:
        asyncio.run(fetch(internal.base_url + "/latest/meta-data"))
    assert "not a public address" in caught.value.message and "OCMA_FETCH_ALLOW_PRIVATE" in (
        caught.value.fix or ""
    )
    assert internal.requests == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://x.example/", "http://user:pw@example.com/"])
def test_only_plain_http_urls_are_fetched(url: str) -> None:
    with pytest.raises(FetchRefused):
        asyncio.run(fetch(url))


def test_a_redirect_to_the_metadata_address_is_refused_even_where_private_is_allowed(
    internal: FakeServer,
) -> None:
    @internal.route("GET", r"/go")
    def _go(request: Any) -> FakeResponse:
        return FakeResponse(302, "", {"Location": "http://169.254.169.254/latest/meta-data/iam"})

    internal._routes.insert(0, internal._routes.pop())  # before the catch-all
    with pytest.raises(FetchRefused) as caught:
        asyncio.run(fetch(internal.base_url + "/go"))
    assert "metadata" in caught.value.message


def test_an_image_is_an_image_by_its_bytes_not_its_name(internal: FakeServer) -> None:
    with pytest.raises(FetchRefused) as caught:
        asyncio.run(fetch(internal.base_url + "/generated.png", expect="image"))
    assert "not an image" in caught.value.message


def test_downloads_stop_at_the_size_cap(internal: FakeServer) -> None:
    @internal.route("GET", r"/big")
    def _big(request: Any) -> FakeResponse:
        return FakeResponse(200, b"\x89PNG\r\n\x1a\n" + b"0" * 5000, {"Content-Type": "image/png"})

    internal._routes.insert(0, internal._routes.pop())
    with pytest.raises(FetchRefused) as caught:
        asyncio.run(fetch(internal.base_url + "/big", max_bytes=1000))
    assert "larger than 1000 bytes" in caught.value.message


class _Recorder:
    """Stands in for DNS and the socket layer: no packet leaves the machine."""

    def __init__(self, answers: list[list[str]]) -> None:
        self.answers = answers
        self.lookups = 0
        self.connected: list[str] = []

    async def getaddrinfo(self, host: str, port: int, **_: Any) -> list[Any]:
        answer = self.answers[min(self.lookups, len(self.answers) - 1)]
        self.lookups += 1
        return [(2, 1, 6, "", (a, port)) for a in answer]

    async def connect_tcp(self, host: str, port: int, *args: Any, **kw: Any) -> Any:
        self.connected.append(host)
        raise httpcore.ConnectError("test: no network")

    async def loop_getaddrinfo(self, host: str, port: int, **_: Any) -> list[Any]:
        return await self.getaddrinfo(host, port)

    async def start_connection(self, addr_infos: list[Any], **_: Any) -> Any:
        self.connected.extend(info[4][0] for info in addr_infos)
        raise OSError("test: no network")


def _patch_network(monkeypatch: pytest.MonkeyPatch, recorder: _Recorder) -> None:
    """Both async stacks a guarded client may use: httpcore on anyio, and aiohttp (ocma_core.net.aio)."""
    import aiohttp.connector

    from ocma_core.net import transport

    monkeypatch.setattr(transport.anyio, "getaddrinfo", recorder.getaddrinfo)
    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", recorder.connect_tcp)
    monkeypatch.setattr(
        asyncio.BaseEventLoop,
        "getaddrinfo",
        lambda _loop, host, port, **kw: recorder.loop_getaddrinfo(host, port),
    )
    monkeypatch.setattr(aiohttp.connector.aiohappyeyeballs, "start_connection", recorder.start_connection)


def test_the_connection_goes_to_the_address_that_was_checked(
    monkeypatch: pytest.MonkeyPatch, default_policy: None
) -> None:
    """DNS rebinding: the first answer is public, a second lookup would give loopback; the socket is opened
    to the checked public address itself, so no second lookup can move it."""
    recorder = _Recorder([["93.184.216.34"], ["127.0.0.1"]])
    _patch_network(monkeypatch, recorder)
    with pytest.raises(httpx.ConnectError):
        asyncio.run(fetch("http://rebind.example/"))
    assert recorder.lookups == 1 and recorder.connected == ["93.184.216.34"]


def test_a_host_with_any_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, default_policy: None
) -> None:
    recorder = _Recorder([["93.184.216.34", "10.0.0.5"]])
    _patch_network(monkeypatch, recorder)
    with pytest.raises(FetchRefused):
        asyncio.run(fetch("http://mixed.example/"))
    assert recorder.connected == []


def test_public_addresses_only_on_allowed_ports(
    monkeypatch: pytest.MonkeyPatch, default_policy: None
) -> None:
    recorder = _Recorder([["93.184.216.34"]])
    _patch_network(monkeypatch, recorder)
    with pytest.raises(FetchRefused) as caught:
        asyncio.run(fetch("http://public.example:6379/"))
    assert "Port 6379" in caught.value.message and recorder.connected == []
    monkeypatch.setenv("OCMA_FETCH_ALLOWED_PORTS", "6379")
    with pytest.raises(httpx.ConnectError):
        asyncio.run(fetch("http://public.example:6379/"))
    assert recorder.connected == ["93.184.216.34"]


# --- connection endpoints a workspace admin chooses -------------------------------------------------------


def test_a_mastodon_instance_on_an_internal_host_is_not_reached(
    internal: FakeServer, default_policy: None
) -> None:
    from ocma_mastodon.platform import MastodonPlatform

    platform = MastodonPlatform(env={})
    with pytest.raises((OcmaError, PlatformError)) as caught:
        asyncio.run(platform.connect_with_credentials({"instance": internal.base_url, "access_token": "t"}))
    assert SECRET not in str(caught.value)
    assert internal.requests == []


def test_a_mastodon_instance_error_page_is_not_echoed(internal: FakeServer) -> None:
    """Even where the operator allows private addresses, what an instance's error page says stays out."""
    from ocma_mastodon.platform import MastodonPlatform

    platform = MastodonPlatform(env={"OCMA_DATA_DIR": "/nonexistent-ocma-test"})
    with pytest.raises(ConfigError) as caught:
        platform.oauth_client({"instance": internal.base_url})
    assert SECRET not in str(caught.value) and "500" in caught.value.message


@pytest.mark.parametrize("suffix", ["/admin/delete?x=", "/internal#", ""])
def test_a_bluesky_service_is_an_origin_and_on_a_public_host(
    internal: FakeServer, suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ocma_bluesky.platform import BlueskyPlatform

    if not suffix:
        monkeypatch.delenv("OCMA_FETCH_ALLOW_PRIVATE", raising=False)
    platform = BlueskyPlatform(env={})
    fields = {
        "handle": "a.example",
        "app_password": "abcd-efgh-ijkl-mnop",
        "service": internal.base_url + suffix,
    }
    with pytest.raises((OcmaError, PlatformError)):
        asyncio.run(platform.connect_with_credentials(fields))
    assert internal.requests == []
