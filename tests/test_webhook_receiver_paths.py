"""A plugin's inbound webhook receiver is served at /webhooks/{name} (GET: its handshake, POST: deliveries),
but never in place of a platform: one of a platform's name is refused and reported."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ocma_core import hookimpl
from ocma_core.api.app import create_app
from ocma_core.app.web import WebhookReceiver, WebhookRefused
from ocma_core.context import Ocma
from ocma_core.plugins import PluginHost, reset_host

SEEN: list[str] = []


def _handle(name: str) -> Any:
    def handle(ocma: Ocma, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        SEEN.append(name)
        return {"received": name}

    return handle


def _refuse(ocma: Ocma, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    raise WebhookRefused("Bad signature.", 401, outcome="bad_signature")


def _again(ocma: Ocma, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    return {"duplicate": True}


def _challenge(query: Mapping[str, str]) -> tuple[int, dict[str, Any] | str] | None:
    return (200, {"echo": query["token"]}) if "token" in query else None


class Receivers:
    """Receivers of their own names (one with a handshake), one that takes a platform's name."""

    @hookimpl
    def register_webhook_receivers(self, register: Any) -> None:
        register(WebhookReceiver("echo", _handle("echo"), "echoes"))
        register(WebhookReceiver("fakesocial", _handle("fakesocial"), "would shadow the platform"))
        register(WebhookReceiver("shake", _refuse, "refuses every delivery", challenge=_challenge))
        register(WebhookReceiver("again", _again, "has seen every delivery before"))


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


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_receiver_named_as_a_platform_is_refused_and_reported(client: TestClient) -> None:
    from ocma_core.plugins import plugin_listing
    from ocma_core.webhook_receivers import receivers

    assert sorted(receivers()) == ["again", "echo", "shake"]  # FakeSocial sends no webhooks: no receiver
    (row,) = [r for r in plugin_listing() if r["name"] == "receivers"]
    assert row["registered"] == {"webhook receiver": ["echo", "shake", "again"]}
    assert "/webhooks/fakesocial belongs to the platform 'fakesocial'" in row["error"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_handshake_is_the_receivers_own(client: TestClient) -> None:
    assert client.get("/webhooks/shake", params={"token": "abc"}).json() == {"echo": "abc"}
    assert client.get("/webhooks/shake").status_code == 400  # not a handshake
    post_only = client.get("/webhooks/echo")
    assert post_only.status_code == 405 and post_only.headers["allow"] == "POST"
    assert client.get("/webhooks/nobody").status_code == 404 and SEEN == []


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_outcomes_are_counted_per_receiver(client: TestClient) -> None:
    from ocma_core.observe.instruments import REGISTRY

    def count(name: str, outcome: str) -> float:
        labels = {"platform": name, "outcome": outcome}
        return REGISTRY.get_sample_value("ocma_webhook_deliveries_total", labels) or 0.0

    before = {
        (n, o): count(n, o)
        for n, o in [("echo", "stored"), ("shake", "bad_signature"), ("again", "duplicate")]
    }
    assert client.post("/webhooks/echo", content=b"{}").status_code == 200
    refused = client.post("/webhooks/shake", content=b"{}")
    assert refused.status_code == 401 and refused.json()["detail"] == "Bad signature."
    assert client.post("/webhooks/again", content=b"{}").json() == {"duplicate": True}
    assert {key: count(*key) - seen for key, seen in before.items()} == dict.fromkeys(before, 1.0)
