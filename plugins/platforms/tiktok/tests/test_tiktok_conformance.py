"""The TikTok plugin passes the OCMA conformance kit against FakeTikTok."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fake_tiktok import FakeTikTok
from ocma_tiktok import TikTokPlatform
from tiktok_testkit import MediaHost, item_for, mp4_bytes, tiktok_env

from ocma_core import AccountContext, PostContent, RateLimited, Transient
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


class TestTikTokVideoConformance(TestTikTokConformance):
    """The same checks with an uploaded video (FILE_UPLOAD: init, one chunk, status) instead of a photo."""

    def content(self, text: str, **fields: Any) -> PostContent:
        """A public video post: a small MP4 uploaded in one chunk."""
        clip = item_for(self.tmp / f"{secrets.token_hex(4)}.mp4", mp4_bytes(3, 1024), "video/mp4")
        return PostContent(text=text, media=[clip], options={"privacy_level": "PUBLIC_TO_EVERYONE"}, **fields)

    def test_timeout_after_accept_is_unconfirmed_then_found(
        self, kit_platform: TikTokPlatform, ctx: AccountContext, fake: FakeTikTok
    ) -> None:
        """A lost answer to an upload's init is Transient, not Unconfirmed: TikTok cannot post a video whose
        bytes it never received (no upload URL reached OCMA), so publishing again can never post twice."""
        text = self._text("timeout")
        fake.fail_next("timeout_after_store")
        with pytest.raises(Transient, match="nothing was uploaded"):
            run(kit_platform.publish(ctx, self.content(text)))
        assert text not in fake.published_texts()
        since = datetime.now(UTC) - timedelta(seconds=5)
        assert run(kit_platform.find_published(ctx, self.content(text), since)) is None
