"""A DNS lookup that never answers holds up no blocking guarded call past its deadline: the webhook sender
promises an answer within DEADLINE_S, and a resolver retrying for half a minute would break that promise."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ocma_core.net.policy import FetchPolicy
from ocma_core.net.transport import deadline, guarded_client


@pytest.fixture
def hanging_dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """getaddrinfo for *.hangs.example blocks until the returned event is set (at most 30 s)."""
    answer = threading.Event()
    real = socket.getaddrinfo

    def lookup(host: str, *args: Any, **kwargs: Any) -> Any:
        if str(host).endswith("hangs.example"):
            answer.wait(30)
            raise socket.gaierror(socket.EAI_NONAME, "gave up")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    yield answer
    answer.set()


def test_a_hanging_lookup_ends_at_the_deadline(hanging_dns: threading.Event) -> None:
    with guarded_client(timeout_s=30) as client, deadline(0.3), pytest.raises(httpx.ConnectTimeout) as caught:
        client.get("https://api.hangs.example/")
    assert not hanging_dns.is_set()  # given up while the lookup was still hanging
    assert "resolving api.hangs.example took longer" in str(caught.value)


def test_a_hanging_lookup_ends_at_the_connect_timeout(hanging_dns: threading.Event) -> None:
    with guarded_client(timeout_s=0.3) as client, pytest.raises(httpx.ConnectTimeout):
        client.get("https://api.hangs.example/")
    assert not hanging_dns.is_set()


def test_a_webhook_delivery_to_a_host_whose_dns_hangs_ends_with_a_timeout(
    hanging_dns: threading.Event,
) -> None:
    from ocma_core import webhook_sender

    answer = webhook_sender.post("https://hooks.hangs.example/in", b"{}", {}, FetchPolicy.from_env())
    assert answer.status is None and "timeout" in (answer.error or "")
    assert not hanging_dns.is_set()
