"""Make the fake importable by module name and provide the shared Pinterest fixtures."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_pinterest import FakePinterest
from ocma_pinterest import PinterestPlatform
from pinterest_testkit import connect, platform_for

from ocma_core import AccountContext


@pytest.fixture
def fake_pinterest() -> Iterator[FakePinterest]:
    """A started FakePinterest with one board."""
    with FakePinterest() as server:
        yield server


@pytest.fixture
def pinterest(fake_pinterest: FakePinterest) -> PinterestPlatform:
    """The plugin pointed at the fake."""
    return platform_for(fake_pinterest)


@pytest.fixture
def pinterest_ctx(pinterest: PinterestPlatform, fake_pinterest: FakePinterest) -> AccountContext:
    """A connected account (its one board is the default board)."""
    return connect(pinterest, fake_pinterest)
