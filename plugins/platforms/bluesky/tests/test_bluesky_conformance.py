"""The Bluesky plugin passes the OCMA platform conformance kit against FakeBluesky."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_bluesky import APP_PASSWORD, HANDLE, FakeBluesky
from ocma_bluesky import BlueskyPlatform

from ocma_core.testing.conformance import PlatformConformance


class TestBlueskyConformance(PlatformConformance):
    """Every kit check, over real HTTP, against the fake entryway and PDS."""

    rotates_refresh_tokens = True  # refreshSession returns a new refresh JWT; the old one is revoked
    credentials = {"handle": HANDLE, "app_password": APP_PASSWORD}

    @pytest.fixture
    def fake(self) -> Iterator[FakeBluesky]:
        with FakeBluesky() as server:
            yield server

    @pytest.fixture
    def platform(self, fake: FakeBluesky) -> BlueskyPlatform:
        return BlueskyPlatform(env={"OCMA_BLUESKY_API_BASE": fake.base_url})
