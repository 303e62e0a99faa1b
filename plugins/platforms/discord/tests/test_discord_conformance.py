"""Discord passes the OCMA platform conformance kit against its fake webhook API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_discord import FakeDiscord
from ocma_discord.platform import DiscordPlatform

from ocma_core.testing.conformance import PlatformConformance


class TestDiscordConformance(PlatformConformance):
    """Every kit check, over real HTTP, against the fake (refresh is skipped: webhooks have no refresh)."""

    records_rate_limits = True  # the fake sends X-RateLimit-* headers, as Discord does

    @pytest.fixture
    def fake(self) -> Iterator[FakeDiscord]:
        with FakeDiscord() as fake:
            yield fake

    @pytest.fixture
    def platform(self, fake: FakeDiscord) -> DiscordPlatform:
        return DiscordPlatform(env={"OCMA_DISCORD_API_BASE": fake.base_url})

    @pytest.fixture
    def connect_credentials(self, fake: FakeDiscord) -> dict[str, str]:
        return {"webhook_url": fake.webhook_url}  # depends on the fake's port and token
