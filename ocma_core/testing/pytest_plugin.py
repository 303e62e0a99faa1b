"""pytest plugin (entry point `pytest11`): fixtures for OCMA plugin authors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ocma_core.testing.fake_platform import FakeSocial


@pytest.fixture
def fake_social() -> Iterator[FakeSocial]:
    """A started FakeSocial server (a generic fake platform API)."""
    server = FakeSocial().start()
    try:
        yield server
    finally:
        server.stop()
