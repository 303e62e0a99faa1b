"""Fixtures for the X plugin tests: the fake X API and the platform pointed at it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_x import FakeX
from ocma_x import XPlatform
from x_test_support import connect, platform_for

from ocma_core import AccountContext


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    """A started FakeX."""
    with FakeX() as server:
        yield server


@pytest.fixture
def x_platform(fake_x: FakeX) -> XPlatform:
    """The platform pointed at the fake, with media polling observed instead of slept."""
    platform = platform_for(fake_x)
    platform.slept = []  # type: ignore[attr-defined]

    async def no_sleep(seconds: float) -> None:
        platform.slept.append(seconds)  # type: ignore[attr-defined]

    platform.sleep = no_sleep  # type: ignore[method-assign]
    return platform


@pytest.fixture
def x_ctx(x_platform: XPlatform, fake_x: FakeX) -> AccountContext:
    """A connected account."""
    return connect(x_platform, fake_x)
