"""The Facebook plugin passes the OCMA conformance kit against FakeFacebook."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from facebook_testkit import facebook_env
from fake_facebook import FakeFacebook
from ocma_facebook import FacebookPlatform

from ocma_core import AccountContext, AuthExpired, PostContent, RateLimited, TokenSet
from ocma_core.testing.conformance import PlatformConformance, run


class TestFacebookConformance(PlatformConformance):
    """Every kit check, over real HTTP, as a Page the logged-in user manages.

    Facebook Login for a web app uses the app secret and no PKCE (client.pkce is False, so the kit's PKCE
    assertions do not apply; the state round trip and the secret-bearing exchange do). Two checks are replaced
    where Meta's contract differs from the kit's generic one, each with the reason in its docstring.
    """

    server_errors_may_store = True  # a 5xx on create may have stored the post: Unconfirmed

    rotates_refresh_tokens = False

    @pytest.fixture
    def fake(self) -> Iterator[FakeFacebook]:
        with FakeFacebook() as server:
            yield server

    @pytest.fixture
    def platform(self, fake: FakeFacebook) -> FacebookPlatform:
        return FacebookPlatform(env=facebook_env(fake))

    def test_refresh_rotates_token(
        self,
        kit_platform: FacebookPlatform,
        tokens: TokenSet,
        fake: FakeFacebook,
        connect_credentials: dict[str, str],
    ) -> None:
        """Facebook has no refresh tokens: an expired session is AuthExpired, refresh says to log in again
        (naming until when the login was good), and a new login gives a working Page token."""
        ctx: AccountContext = self._ctx(kit_platform, tokens)
        assert tokens.refresh_token is None and tokens.expires_at is not None
        fake.expire_tokens()
        with pytest.raises(AuthExpired):
            run(kit_platform.get_profile(ctx))
        with pytest.raises(AuthExpired, match="log in with Facebook again"):
            run(kit_platform.refresh(ctx))
        ctx.tokens = run(self._connect(kit_platform, fake, connect_credentials))
        assert run(kit_platform.get_profile(ctx)).external_id == ctx.external_id

    def test_rate_limited_carries_retry_time(
        self, kit_platform: FacebookPlatform, ctx: AccountContext, fake: FakeFacebook
    ) -> None:
        """Meta states the wait in whole minutes (`estimated_time_to_regain_access`), never in seconds and
        never in Retry-After: a 30-second wait is announced as 1 minute, and RateLimited carries that."""

        fake.fail_next("rate_limit", retry_after_s=30)
        before = datetime.now(UTC)
        with pytest.raises(RateLimited) as info:
            run(kit_platform.publish(ctx, PostContent(text=self._text("429"))))
        assert before + timedelta(seconds=55) <= info.value.retry_at <= before + timedelta(seconds=70)
