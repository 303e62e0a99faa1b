"""Make the fake importable by module name and provide the shared TikTok fixtures."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_tiktok import FakeTikTok
from ocma_tiktok import TikTokPlatform
from tiktok_testkit import MediaHost, tiktok_env


@pytest.fixture
def fake_tiktok() -> Iterator[FakeTikTok]:
    """A started FakeTikTok."""
    with FakeTikTok() as server:
        yield server


@pytest.fixture
def media_host() -> Iterator[MediaHost]:
    """A started host for the media TikTok pulls."""
    with MediaHost() as server:
        yield server


@pytest.fixture
def tiktok(fake_tiktok: FakeTikTok) -> TikTokPlatform:
    """The plugin pointed at the fake."""
    return TikTokPlatform(env=tiktok_env(fake_tiktok))
