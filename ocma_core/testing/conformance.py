"""The conformance kit every platform plugin passes against its own fake server.

Subclass `PlatformConformance` in a test module and provide two fixtures:

    class TestMyPlatform(PlatformConformance):
        @pytest.fixture
        def fake(self):            # your fake, started; implements FakeControl
            with MyFake() as fake:
                yield fake

        @pytest.fixture
        def platform(self, fake):  # your Platform, pointed at the fake
            return MyPlatform(env={"OCMA_MY_API_BASE": fake.base_url, ...})

        @pytest.fixture
        def connect_credentials(self, fake):  # only for platforms that connect without OAuth
            return {"webhook_url": f"{fake.base_url}/api/webhooks/1/secret"}

Every test runs the real plugin code over real HTTP against the fake. A check that does not apply to the
platform (OAuth on a credentials platform, refresh where no refresh token is issued, delete without
Capability.DELETE) is skipped, saying why.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit

import pytest

from ocma_core.errors import AuthExpired, PlatformError, RateLimited, Transient, Unconfirmed
from ocma_core.oauth_client import authorize_url, code_challenge, new_code_verifier
from ocma_core.platforms import AccountContext, AuthKind, Capability, Platform, PostContent, TokenSet
from ocma_core.testing.conformance_threads import ThreadConformance

T = TypeVar("T")


class FakeControl(Protocol):
    """What the kit needs from a plugin's fake server."""

    base_url: str

    def authorize(self, authorize_url: str, *, approve: bool = True) -> tuple[str, str]:
        """Consent as the user would; returns (code, state) from the redirect. OAuth platforms only."""

    def fail_next(self, kind: str, *, retry_after_s: float = 30.0, skip: int = 0) -> None:
        """Fail a coming create call, after `skip` succeed: rate_limit, auth, server_error (nothing stored)
        or timeout_after_store (the post is stored, the answer comes too late)."""

    def expire_tokens(self) -> None:
        """Invalidate every access token (refresh tokens stay valid)."""

    def published_texts(self) -> list[str]:
        """Texts of the posts the fake holds now."""

    def parent_of(self, external_id: str) -> str | None:
        """The id of the post this one replies to (platforms with threads only)."""


def run(coro: Coroutine[Any, Any, T] | Awaitable[T]) -> T:
    """Run a coroutine to completion in a fresh event loop."""

    async def wrapper() -> T:
        return await coro

    return asyncio.run(wrapper())


class PlatformConformance(ThreadConformance):
    """The shared behaviour checks; subclasses provide the `fake` and `platform` fixtures."""

    redirect_uri = "http://127.0.0.1:8000/oauth/callback/conformance"
    rotates_refresh_tokens = True
    #: credentials for platforms that do not use OAuth; override `connect_credentials` when they depend on
    #: the fake (its port, a token it issued)
    credentials: dict[str, str] = {}
    #: True when the fake sends rate-limit headers on publish, so the kit checks they are recorded
    records_rate_limits = False
    #: True when the platform documents that a 5xx on create may still have stored the post (X, LinkedIn,
    #: Meta's Graph API): the kit then expects Unconfirmed (the engine looks before retrying) instead of Transient
    server_errors_may_store = False
    timeout_s = 1.0

    @pytest.fixture
    def fake(self) -> Any:
        """Your fake server (override)."""
        raise NotImplementedError("Provide a `fake` fixture yielding your started fake server.")

    @pytest.fixture
    def platform(self, fake: Any) -> Platform:
        """Your platform pointed at the fake (override)."""
        raise NotImplementedError("Provide a `platform` fixture returning your Platform for the fake.")

    @pytest.fixture
    def kit_platform(self, platform: Platform) -> Platform:
        """The platform with a short timeout so the timeout test is quick."""
        platform.request_timeout_s = self.timeout_s  # type: ignore[misc]
        return platform

    @pytest.fixture
    def connect_credentials(self, fake: Any) -> dict[str, str]:
        """The fields a credentials platform connects with (default: the class's `credentials`)."""
        return dict(self.credentials)

    @pytest.fixture
    def tokens(self, kit_platform: Platform, fake: Any, connect_credentials: dict[str, str]) -> TokenSet:
        """Tokens obtained the way a user would connect."""
        return run(self._connect(kit_platform, fake, connect_credentials))

    @pytest.fixture
    def ctx(self, kit_platform: Platform, tokens: TokenSet) -> AccountContext:
        """A connected account context."""
        return self._ctx(kit_platform, tokens)

    # ----- helpers -------------------------------------------------------------------------------
    async def _connect(
        self, platform: Platform, fake: Any, credentials: dict[str, str] | None = None
    ) -> TokenSet:
        if platform.auth_kind is AuthKind.OAUTH2:
            client = platform.oauth_client()
            state = secrets.token_urlsafe(16)
            verifier = new_code_verifier() if client.pkce else None
            url = authorize_url(client, state=state, redirect_uri=self.redirect_uri, verifier=verifier)
            code, returned_state = fake.authorize(url)
            assert returned_state == state
            return await platform.exchange_code(code, verifier, self.redirect_uri)
        return await platform.connect_with_credentials(
            self.credentials if credentials is None else credentials
        )

    def _ctx(self, platform: Platform, tokens: TokenSet) -> AccountContext:
        profile_ctx = AccountContext(
            account_id="acct", external_id="", handle="", tokens=tokens, settings=dict(tokens.extra)
        )
        profile = run(platform.get_profile(profile_ctx))
        return AccountContext(
            account_id="acct",
            external_id=profile.external_id,
            handle=profile.handle,
            tokens=tokens,
            settings={**tokens.extra, **profile.extra},
        )

    def _text(self, label: str) -> str:
        return f"OCMA conformance {label} {secrets.token_hex(4)}"

    def content(self, text: str, **fields: Any) -> PostContent:
        """The post a check publishes: `text` alone. A platform that requires media (Instagram, TikTok)
        overrides this to attach some (with a `public_url` its fake can fetch)."""
        return PostContent(text=text, **fields)

    # ----- the checks ----------------------------------------------------------------------------
    def test_declares_contract(self, kit_platform: Platform) -> None:
        """Name, capabilities and limits are declared."""
        assert kit_platform.name and kit_platform.name == kit_platform.name.lower()
        assert (
            Capability.PUBLISH_TEXT in kit_platform.capabilities or kit_platform.limits.media.requires_media
        )
        assert kit_platform.limits.text.max_length > 0

    def test_oauth_round_trip_checks_state_and_pkce(self, kit_platform: Platform, fake: Any) -> None:
        """The authorize URL carries state and an S256 challenge; the code exchange needs the verifier."""
        if kit_platform.auth_kind is not AuthKind.OAUTH2:
            pytest.skip("platform connects with credentials, not OAuth")
        client = kit_platform.oauth_client()
        state, verifier = secrets.token_urlsafe(16), new_code_verifier()
        url = authorize_url(client, state=state, redirect_uri=self.redirect_uri, verifier=verifier)
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert query["state"] == state
        if client.pkce:
            assert query["code_challenge"] == code_challenge(verifier)
            assert query["code_challenge_method"] == "S256"
            code, _ = fake.authorize(url)
            with pytest.raises(PlatformError):
                run(kit_platform.exchange_code(code, new_code_verifier(), self.redirect_uri))
        code, returned = fake.authorize(url)
        assert returned == state
        tokens = run(kit_platform.exchange_code(code, verifier, self.redirect_uri))
        assert tokens.access_token

    def test_profile(self, kit_platform: Platform, ctx: AccountContext) -> None:
        """Who-am-I returns the account's id and handle."""
        assert ctx.external_id
        assert ctx.handle

    def test_refresh_rotates_token(self, kit_platform: Platform, tokens: TokenSet, fake: Any) -> None:
        """After the access token expires, refresh gives a working one (and a new refresh token if rotating)."""
        if not tokens.refresh_token:
            pytest.skip("no refresh token is issued, so the engine never refreshes (it asks to reconnect)")
        ctx = self._ctx(kit_platform, tokens)
        fake.expire_tokens()
        with pytest.raises(AuthExpired):
            run(kit_platform.get_profile(ctx))
        fresh = run(kit_platform.refresh(ctx))
        assert fresh.access_token != tokens.access_token
        if self.rotates_refresh_tokens:
            assert fresh.refresh_token and fresh.refresh_token != tokens.refresh_token
            with pytest.raises(AuthExpired):
                run(kit_platform.refresh(ctx))  # the old refresh token was single-use
        ctx.tokens = fresh
        assert run(kit_platform.get_profile(ctx)).external_id == ctx.external_id

    def test_validation_rejects_overlong_text(self, kit_platform: Platform) -> None:
        """A text one unit over the limit is reported as too long, with the count."""
        text = "a" * (kit_platform.limits.text.max_length + 1)
        problems = kit_platform.validate(PostContent(text=text))
        assert any(p.code == "too_long" for p in problems), problems
        assert not [
            p for p in kit_platform.validate(PostContent(text="Short and fine")) if p.code == "too_long"
        ]

    def test_publish_then_delete(self, kit_platform: Platform, ctx: AccountContext, fake: Any) -> None:
        """Publishing stores the post on the platform; delete removes it."""
        text = self._text("publish")
        result = run(kit_platform.publish(ctx, self.content(text, idempotency_key=secrets.token_hex(8))))
        assert result.external_id
        assert text in fake.published_texts()
        if Capability.DELETE in kit_platform.capabilities:
            run(kit_platform.delete(ctx, result.external_id))
            assert text not in fake.published_texts()

    def test_deleting_an_already_gone_post_returns_normally(
        self, kit_platform: Platform, ctx: AccountContext
    ) -> None:
        """Deleting twice (a retried delete, or a post removed on the platform) succeeds the second time."""
        if Capability.DELETE not in kit_platform.capabilities:
            pytest.skip("platform cannot delete")
        result = run(kit_platform.publish(ctx, self.content(self._text("gone"))))
        run(kit_platform.delete(ctx, result.external_id))
        run(kit_platform.delete(ctx, result.external_id))

    def test_server_error_is_transient(self, kit_platform: Platform, ctx: AccountContext, fake: Any) -> None:
        """A 5xx that stored nothing becomes Transient (retried later), never a permanent rejection; Unconfirmed
        where the platform says a 5xx may have stored the post (`server_errors_may_store`)."""
        text = self._text("5xx")
        fake.fail_next("server_error")
        with pytest.raises(Unconfirmed if self.server_errors_may_store else Transient):
            run(kit_platform.publish(ctx, self.content(text)))
        assert text not in fake.published_texts()

    def test_rate_limit_headers_are_recorded(self, kit_platform: Platform, ctx: AccountContext) -> None:
        """Rate-limit headers of a publish are recorded on the account context (the engine budgets by them)."""
        if not self.records_rate_limits:
            pytest.skip("the fake sends no rate-limit headers (set records_rate_limits when it does)")
        ctx.settings.pop("_rate_limits", None)
        run(kit_platform.publish(ctx, self.content(self._text("budget"))))
        recorded = ctx.settings.get("_rate_limits") or []
        assert recorded and all(info.remaining is not None for info in recorded)

    def test_rate_limited_carries_retry_time(
        self, kit_platform: Platform, ctx: AccountContext, fake: Any
    ) -> None:
        """A 429 becomes RateLimited with the retry time the platform gave."""
        fake.fail_next("rate_limit", retry_after_s=30)
        before = datetime.now(UTC)
        with pytest.raises(RateLimited) as info:
            run(kit_platform.publish(ctx, self.content(self._text("429"))))
        assert before + timedelta(seconds=20) <= info.value.retry_at <= before + timedelta(seconds=40)

    def test_unauthorized_is_auth_expired(
        self, kit_platform: Platform, ctx: AccountContext, fake: Any
    ) -> None:
        """A 401 becomes AuthExpired."""
        fake.fail_next("auth")
        with pytest.raises(AuthExpired):
            run(kit_platform.publish(ctx, self.content(self._text("401"))))

    def test_timeout_after_accept_is_unconfirmed_then_found(
        self, kit_platform: Platform, ctx: AccountContext, fake: Any
    ) -> None:
        """A timeout after the platform stored the post is Unconfirmed; find_published then finds it."""
        text = self._text("timeout")
        content = self.content(text, idempotency_key=secrets.token_hex(8))
        since = datetime.now(UTC) - timedelta(seconds=5)
        fake.fail_next("timeout_after_store")
        with pytest.raises(Unconfirmed):
            run(kit_platform.publish(ctx, content))
        assert text in fake.published_texts()
        if Capability.FIND_PUBLISHED in kit_platform.capabilities:
            found = run(kit_platform.find_published(ctx, content, since))
            assert found is not None and found.external_id
            missing = self.content(self._text("never-sent"))
            assert run(kit_platform.find_published(ctx, missing, since)) is None

    def test_metrics(self, kit_platform: Platform, ctx: AccountContext) -> None:
        """Post and account metrics come back as named numbers, with what is unavailable listed."""
        if Capability.POST_METRICS in kit_platform.capabilities:
            result = run(kit_platform.publish(ctx, self.content(self._text("metrics"))))
            snapshot = run(kit_platform.post_metrics(ctx, result.external_id))
            assert snapshot.values and all(isinstance(v, int | float) for v in snapshot.values.values())
        if Capability.ACCOUNT_METRICS in kit_platform.capabilities:
            snapshot = run(kit_platform.account_metrics(ctx))
            assert snapshot.values
