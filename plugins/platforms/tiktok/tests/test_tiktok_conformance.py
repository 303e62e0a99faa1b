"""The TikTok plugin passes the OCMA conformance kit against FakeTikTok."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fake_tiktok import FakeTikTok
from ocma_tiktok import TikTokPlatform
from tiktok_testkit import MediaHost, tiktok_env

from ocma_core import AccountContext, PostContent, RateLimited
from ocma_core.testing.conformance import PlatformConformance, run


class TestTikTokConformance(PlatformConformance):
    """Every kit check over real HTTP. A TikTok post needs media: each check posts one public JPEG photo that
    the fake pulls from its URL (the video paths have their own tests). TikTok has no delete API."""

    @pytest.fixture(autouse=True)
    def _media(self, tmp_path: Path) -> Iterator[None]:
        with MediaHost() as host:
            self.host, self.tmp = host, tmp_path
            yield

    def content(self, text: str, **fields: Any) -> PostContent:
        """A public photo post: one JPEG on a URL the fake pulls."""
        options = {"privacy_level": "PUBLIC_TO_EVERYONE"}
        return PostContent(text=text, media=[self.host.add(self.tmp)], options=options, **fields)

    @pytest.fixture
    def fake(self) -> Iterator[FakeTikTok]:
        with FakeTikTok() as server:
            yield server

    @pytest.fixture
    def platform(self, fake: FakeTikTok) -> TikTokPlatform:
        return TikTokPlatform(env=tiktok_env(fake))

    def test_rate_limited_carries_retry_time(
        self, kit_platform: TikTokPlatform, ctx: AccountContext, fake: FakeTikTok
    ) -> None:
        """TikTok documents a one-minute sliding window and no retry header: OCMA waits out the window."""
        fake.fail_next("rate_limit", retry_after_s=30)
        before = datetime.now(UTC)
        with pytest.raises(RateLimited) as info:
            run(kit_platform.publish(ctx, self.content(self._text("429"))))
        assert before + timedelta(seconds=55) <= info.value.retry_at <= before + timedelta(seconds=65)
