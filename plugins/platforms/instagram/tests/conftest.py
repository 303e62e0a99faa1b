"""Make the fake importable by module name and provide the shared Instagram fixtures."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_instagram import FakeInstagram
from instagram_testkit import instagram_env
from ocma_instagram import InstagramPlatform

from ocma_core.testing.fake_graph import MediaHost


@pytest.fixture
def fake_instagram() -> Iterator[FakeInstagram]:
    """A started FakeInstagram."""
    with FakeInstagram() as server:
        yield server


@pytest.fixture
def media_host() -> Iterator[MediaHost]:
    """A started host for the media Meta downloads."""
    with MediaHost() as server:
        yield server


@pytest.fixture
def instagram(fake_instagram: FakeInstagram) -> InstagramPlatform:
    """The plugin pointed at the fake."""
    return InstagramPlatform(
        env=instagram_env(fake_instagram, OCMA_INSTAGRAM_WEBHOOK_VERIFY_TOKEN="verify-ig")
    )
