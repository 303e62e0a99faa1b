"""Connecting an account: a failure names its real cause (wrong password, network, DNS, server error),
and a Bluesky account the AppView has not indexed connects (everything is read from its own PDS)."""

from __future__ import annotations

import asyncio
import importlib
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from platform_fakes_support import FAKES, fake_bluesky

from ocma_core.context import Ocma
from ocma_core.errors import PlatformUnavailable, ValidationFailed
from ocma_core.platforms.transport import describe_transport_error
from ocma_core.plugins import PluginHost
from ocma_core.services import accounts

SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # no engine, no database difference


@pytest.fixture
def bluesky(plugin_host: PluginHost, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[Any]:
    """FakeBluesky with the Bluesky plugin pointed at it."""
    from ocma_core.registry import clear_caches

    spec = FAKES["bluesky"]
    plugin_host.register(importlib.import_module(spec.plugin), name=spec.plugin)
    with spec.make() as fake:
        for key, value in spec.env(fake, tmp_path).items():
            monkeypatch.setenv(key, value)
        clear_caches()
        yield fake
        clear_caches()


def _connect(ocma: Ocma, workspace_id: str, **fields: str) -> Any:
    fields = {"handle": fake_bluesky.HANDLE, "app_password": fake_bluesky.APP_PASSWORD, **fields}
    return asyncio.run(accounts.connect_with_credentials(ocma, workspace_id, "bluesky", fields))


@SQLITE
def test_an_account_unknown_to_the_appview_connects(ocma: Ocma, workspace_id: str, bluesky: Any) -> None:
    bluesky.appview_unknown.add(fake_bluesky.did_for(fake_bluesky.HANDLE))
    account = _connect(ocma, workspace_id, service=bluesky.base_url)
    assert account.external_id == fake_bluesky.did_for(fake_bluesky.HANDLE)
    assert account.handle == fake_bluesky.HANDLE and account.display_name == "OCMA Test"


@SQLITE
def test_a_wrong_password_is_called_wrong_credentials(ocma: Ocma, workspace_id: str, bluesky: Any) -> None:
    with pytest.raises(ValidationFailed) as info:
        _connect(ocma, workspace_id, service=bluesky.base_url, app_password="wrong-wrong-wrong-wrong")
    assert "Bluesky refused the credentials" in info.value.message
    assert "Invalid identifier or password" in info.value.message
    assert info.value.fix and "app password" in info.value.fix


@SQLITE
def test_a_server_error_is_called_a_server_error(ocma: Ocma, workspace_id: str, bluesky: Any) -> None:
    bluesky.session_error = 500
    with pytest.raises(PlatformUnavailable) as info:  # a 502 over the API, not a 422
        _connect(ocma, workspace_id, service=bluesky.base_url)
    assert info.value.message.startswith("Bluesky's server failed while connecting (HTTP 500)")
    assert "credentials" not in info.value.message and "try again" in (info.value.fix or "")


@SQLITE
def test_an_unreachable_server_is_called_a_network_problem(
    ocma: Ocma, workspace_id: str, bluesky: Any
) -> None:
    with pytest.raises(PlatformUnavailable) as info:
        _connect(ocma, workspace_id, service="http://127.0.0.1:9")
    assert info.value.message.startswith("Connecting to Bluesky failed: Could not reach Bluesky")
    assert "the connection to 127.0.0.1:9 was refused" in info.value.message
    assert "network" in (info.value.fix or "") and "credentials" not in info.value.message


def test_a_failed_dns_lookup_is_named() -> None:
    try:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    except socket.gaierror as dns:
        try:
            raise httpx.ConnectError("[Errno -2] Name or service not known") from dns
        except httpx.ConnectError as exc:
            caught = exc
    text = describe_transport_error(caught, "https://pds.example.org/xrpc/com.atproto.server.createSession")
    assert text.startswith("the DNS lookup of pds.example.org failed")
