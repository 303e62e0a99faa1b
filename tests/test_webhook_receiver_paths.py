"""A plugin's inbound webhook receiver is served at POST /webhooks/{name}, but never in place of a platform."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ocma_core import hookimpl
from ocma_core.api.app import create_app
from ocma_core.app.web import WebhookReceiver
from ocma_core.context import Ocma
from ocma_core.plugins import PluginHost, reset_host

SEEN: list[str] = []


def _handle(name: str) -> Any:
    def handle(ocma: Ocma, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        SEEN.append(name)
        return {"received": name}

    return handle


class Receivers:
    """One receiver of its own name, one that takes a platform's name."""

    @hookimpl
    def register_webhook_receivers(self, register: Any) -> None:
        register(WebhookReceiver("echo", _handle("echo"), "echoes"))
        register(WebhookReceiver("fakesocial", _handle("fakesocial"), "would shadow the platform"))


@pytest.fixture
def client(plugin_host: PluginHost, ocma: Ocma) -> Iterator[TestClient]:
    plugin_host.register(Receivers(), name="receivers")
    reset_host(plugin_host)
    SEEN.clear()
    with TestClient(create_app(ocma, run_worker=False)) as test_client:
        yield test_client


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_receiver_cannot_take_a_platforms_path(client: TestClient) -> None:
    assert client.post("/webhooks/echo", content=b"{}").json() == {"received": "echo"}
    unsigned = client.post(
        "/webhooks/fakesocial", content=b"{}"
    )  # the platform's own path: signature checked
    assert unsigned.status_code in (401, 404) and SEEN == ["echo"]
