"""The Instagram plugin passes the OCMA conformance kit against FakeInstagram."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fake_instagram import FakeInstagram
from instagram_testkit import instagram_env
from ocma_instagram import InstagramPlatform

from ocma_core import AccountContext, AuthExpired, PostContent, RateLimited, TokenSet
from ocma_core.testing.conformance import PlatformConformance, run
from ocma_core.testing.fake_graph import MediaHost


class TestInstagramConformance(PlatformConformance):
    """Every kit check, over real HTTP: each post carries a JPEG the fake downloads from its public URL.

    Instagram Login uses the app secret and no PKCE. Two checks are replaced where Meta's contract differs
    from the kit's generic one, each with the reason in its docstring.
    """

    server_errors_may_store = True  # a 5xx on create may have stored the post: Unconfirmed

    rotates_refresh_tokens = False

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

    def test_refresh_rotates_token(
        self, kit_platform: InstagramPlatform, tokens: TokenSet, fake: FakeInstagram
    ) -> None:
        """Meta refreshes only an unexpired token at least a day old: an expired one needs a new login (the
        kit's "access token expired, refresh token still good" has no Instagram equivalent)."""
        ctx: AccountContext = self._ctx(kit_platform, tokens)
        fake.age_tokens(86_400 + 60)
        fresh = run(kit_platform.refresh(ctx))
        assert fresh.access_token != tokens.access_token and fresh.refresh_token == fresh.access_token
        ctx.tokens = fresh
        assert run(kit_platform.get_profile(ctx)).external_id == ctx.external_id
        fake.expire_tokens()
        with pytest.raises(AuthExpired):
            run(kit_platform.get_profile(ctx))
        with pytest.raises(AuthExpired, match="Log in with Instagram again"):
            run(kit_platform.refresh(ctx))

    def test_rate_limited_carries_retry_time(
        self, kit_platform: InstagramPlatform, ctx: AccountContext, fake: FakeInstagram
    ) -> None:
        """Meta states the wait in whole minutes (`estimated_time_to_regain_access`), never in Retry-After."""

        fake.fail_next("rate_limit", retry_after_s=30)
        before = datetime.now(UTC)
        with pytest.raises(RateLimited) as info:
            run(kit_platform.publish(ctx, self.content(self._text("429"))))
        assert before + timedelta(seconds=55) <= info.value.retry_at <= before + timedelta(seconds=70)


class TestInstagramFacebookLoginConformance(TestInstagramConformance):
    """The same checks for the Facebook Login variant (an Instagram account behind a Facebook Page)."""

    @pytest.fixture
    def platform(self, fake: FakeInstagram) -> InstagramPlatform:
        return InstagramPlatform(env=instagram_env(fake, OCMA_INSTAGRAM_LOGIN="facebook"))

    def test_refresh_rotates_token(
        self,
        kit_platform: InstagramPlatform,
        tokens: TokenSet,
        fake: FakeInstagram,
        connect_credentials: dict[str, str],
    ) -> None:
        """Facebook Login has no refresh tokens: an expired session needs a new login, which works again."""
        ctx: AccountContext = self._ctx(kit_platform, tokens)
        assert tokens.refresh_token is None and tokens.expires_at is not None
        assert ctx.settings["login"] == "facebook" and ctx.external_id == ctx.settings["ig_user_id"]
        fake.expire_tokens()
        with pytest.raises(AuthExpired):
            run(kit_platform.get_profile(ctx))
        with pytest.raises(AuthExpired, match="log in with Facebook again"):
            run(kit_platform.refresh(ctx))
        ctx.tokens = run(self._connect(kit_platform, fake, connect_credentials))
        assert run(kit_platform.get_profile(ctx)).external_id == ctx.external_id
