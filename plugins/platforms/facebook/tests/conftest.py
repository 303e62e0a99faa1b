"""Make the fake importable by module name and provide the shared Facebook fixtures."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from facebook_testkit import facebook_env
from fake_facebook import FakeFacebook
from ocma_facebook import FacebookPlatform


@pytest.fixture
def fake_facebook() -> Iterator[FakeFacebook]:
    """A started FakeFacebook whose user manages one Page."""
    with FakeFacebook() as server:
        yield server


@pytest.fixture
def facebook(fake_facebook: FakeFacebook) -> FacebookPlatform:
    """The plugin pointed at the fake."""
    return FacebookPlatform(env=facebook_env(fake_facebook, OCMA_FACEBOOK_WEBHOOK_VERIFY_TOKEN="verify-me"))
