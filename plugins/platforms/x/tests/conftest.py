"""Fixtures for the X plugin tests: the fake X API and the platform pointed at it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_x import CLIENT_ID, CONSUMER_SECRET, FakeX
from ocma_x import XPlatform


def platform_for(fake: FakeX, **extra: str) -> XPlatform:
    """The X platform configured for `fake` (public client unless a secret is given)."""
    env = {
        "OCMA_X_API_BASE": fake.base_url,
        "OCMA_X_AUTH_BASE": fake.base_url,
        "OCMA_X_CLIENT_ID": CLIENT_ID,
        "OCMA_X_CONSUMER_SECRET": CONSUMER_SECRET,
        **extra,
    }
    return XPlatform(env=env)


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    """A started FakeX."""
    with FakeX() as server:
        yield server
