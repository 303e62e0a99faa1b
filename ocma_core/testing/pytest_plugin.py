"""pytest plugin (entry point `pytest11`): fixtures for OCMA plugin authors."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from ocma_core.testing.fake_platform import FakeSocial


def pytest_configure(config: pytest.Config) -> None:
    """Local fake servers listen on 127.0.0.1: tests allow server-side fetches of private addresses, as an
    operator may on a trusted network (OCMA_FETCH_ALLOW_PRIVATE). Tests of the guard itself unset it."""
    os.environ.setdefault("OCMA_FETCH_ALLOW_PRIVATE", "1")
    # Connecting to a loopback fake is instant unless the machine is starved (CI runs tests in parallel on
    # two cores): a generous connect timeout keeps that from failing tests that are not about timeouts.
    # Tests of connect timeouts set OCMA_<PLATFORM>_CONNECT_TIMEOUT_S, which wins.
    os.environ.setdefault("OCMA_CONNECT_TIMEOUT_S", "30")


@pytest.fixture
def fake_social() -> Iterator[FakeSocial]:
    """A started FakeSocial server (a generic fake platform API)."""
    server = FakeSocial().start()
    try:
        yield server
    finally:
        server.stop()
