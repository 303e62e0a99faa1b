"""The Instagram plugin passes the OCMA conformance kit against FakeInstagram."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_instagram import FakeInstagram
from instagram_testkit import instagram_env
from ocma_instagram import InstagramPlatform

from ocma_core import PostContent, TokenSet
from ocma_core.testing.fake_graph import GraphConformance, MediaHost


class TestInstagramConformance(GraphConformance):
    """Every kit check, over real HTTP: each post carries a JPEG the fake downloads from its public URL.

    Instagram Login uses the app secret and no PKCE; refresh and rate limits are checked as Meta's contract
    has them (GraphConformance).
    """

    login_again = "Log in with Instagram again"

    @pytest.fixture(autouse=True)
    def _media(self, tmp_path: Path) -> Iterator[None]:
        with MediaHost() as host:
            self.host, self.tmp = host, tmp_path
            yield

    def content(self, text: str, **fields: Any) -> PostContent:
        """Instagram posts need media: one JPEG on a URL the fake downloads."""
        return PostContent(text=text, media=[self.host.add(self.tmp)], **fields)

    @pytest.fixture
    def fake(self) -> Iterator[FakeInstagram]:
        with FakeInstagram() as server:
            yield server

    @pytest.fixture
    def platform(self, fake: FakeInstagram) -> InstagramPlatform:
        return InstagramPlatform(env=instagram_env(fake))


class TestInstagramFacebookLoginConformance(TestInstagramConformance):
    """The same checks for the Facebook Login variant (an Instagram account behind a Facebook Page)."""

    long_lived_refresh = False
    login_again = "log in with Facebook again"

    @pytest.fixture
    def platform(self, fake: FakeInstagram) -> InstagramPlatform:
        return InstagramPlatform(env=instagram_env(fake, OCMA_INSTAGRAM_LOGIN="facebook"))

    def test_refresh_rotates_token(
        self, kit_platform: InstagramPlatform, tokens: TokenSet, fake: FakeInstagram
    ) -> None:
        """Facebook Login has no refresh tokens (GraphConformance); the account is the Instagram account behind
        the Page."""
        ctx = self._ctx(kit_platform, tokens)
        assert ctx.settings["login"] == "facebook" and ctx.external_id == ctx.settings["ig_user_id"]
        super().test_refresh_rotates_token(kit_platform, tokens, fake)
