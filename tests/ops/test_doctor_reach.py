"""`ocma doctor` fetches a non-loopback OCMA_PUBLIC_URL's /healthz from the server itself."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.services.doctor_reach import check_public_url_reachable


def own_address() -> str:
    """This machine's address on its default route (the UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("198.51.100.1", 9))  # TEST-NET-2: nothing is sent
        except OSError:
            pytest.skip("this machine has no network address besides loopback")
        address = str(sock.getsockname()[0])
    if address.startswith("127."):
        pytest.skip("this machine has no network address besides loopback")
    return address


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(ocma: Ocma) -> Iterator[str]:
    """OCMA served on this machine's own (non-loopback) address; yields its base URL."""
    host = own_address()
    port = free_port(host)
    server = uvicorn.Server(
        uvicorn.Config(create_app(ocma, run_worker=False), host=host, port=port, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_public_url_that_leads_to_ocma_is_ok(ocma: Ocma, served: str) -> None:
    settings = ocma.settings.model_copy(update={"public_url": served + "/"})
    [finding] = check_public_url_reachable(Ocma(settings))
    assert finding.level == "ok" and f"{served}/healthz answers" in finding.message


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_public_url_nothing_answers_is_a_warning_with_the_fix(ocma: Ocma) -> None:
    host = own_address()
    url = f"http://{host}:{free_port(host)}"
    settings = ocma.settings.model_copy(update={"public_url": url})
    [finding] = check_public_url_reachable(Ocma(settings))
    assert finding.level == "warning" and "did not answer from this machine" in finding.message
    assert "reverse proxy" in (finding.fix or "")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_loopback_public_url_is_not_fetched(ocma: Ocma) -> None:
    assert list(check_public_url_reachable(ocma)) == []  # the loopback warning is check_public_url's
