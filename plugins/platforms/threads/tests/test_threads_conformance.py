"""The Threads plugin passes the OCMA conformance kit (thread checks included) against FakeThreads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fake_threads import FakeThreads
from ocma_threads import ThreadsPlatform
from threads_testkit import threads_env

from ocma_core import AccountContext, AuthExpired, PostContent, RateLimited, TokenSet
from ocma_core.testing.conformance import PlatformConformance, run


class TestThreadsConformance(PlatformConformance):
    """Every kit check over real HTTP, including a reply lost mid-thread (continued from the last part that
    exists, never re-posted). Two checks are replaced where Meta's contract differs from the kit's generic one,
    each with the reason in its docstring."""

    server_errors_may_store = True  # a 5xx on create may have stored the post: Unconfirmed

    rotates_refresh_tokens = False

    @pytest.fixture
    def fake(self) -> Iterator[FakeThreads]:
        with FakeThreads() as server:
            yield server

    @pytest.fixture
    def platform(self, fake: FakeThreads) -> ThreadsPlatform:
        return ThreadsPlatform(env=threads_env(fake))

    def test_refresh_rotates_token(
        self, kit_platform: ThreadsPlatform, tokens: TokenSet, fake: FakeThreads
    ) -> None:
        """Meta refreshes only an unexpired token at least a day old; an expired one needs a new login."""
        ctx: AccountContext = self._ctx(kit_platform, tokens)
        fake.age_tokens(86_400 + 60)
        fresh = run(kit_platform.refresh(ctx))
        assert fresh.access_token != tokens.access_token and fresh.refresh_token == fresh.access_token
        ctx.tokens = fresh
        assert run(kit_platform.get_profile(ctx)).external_id == ctx.external_id
        fake.expire_tokens()
        with pytest.raises(AuthExpired):
            run(kit_platform.get_profile(ctx))
        with pytest.raises(AuthExpired, match="Log in with Threads again"):
            run(kit_platform.refresh(ctx))

    def test_rate_limited_carries_retry_time(
        self, kit_platform: ThreadsPlatform, ctx: AccountContext, fake: FakeThreads
    ) -> None:
        """Meta states the wait in whole minutes (`estimated_time_to_regain_access`), never in Retry-After."""

        fake.fail_next("rate_limit", retry_after_s=30)
        before = datetime.now(UTC)
        with pytest.raises(RateLimited) as info:
            run(kit_platform.publish(ctx, PostContent(text=self._text("429"))))
        assert before + timedelta(seconds=55) <= info.value.retry_at <= before + timedelta(seconds=70)
