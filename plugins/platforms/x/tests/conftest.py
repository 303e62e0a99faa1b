"""Fixtures for the X plugin tests: the fake X API and the platform pointed at it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_x import CLIENT_ID, CONSUMER_SECRET, FakeX
from ocma_x import XPlatform

from ocma_core import AccountContext


def platform_for(fake: FakeX, **extra: str) -> XPlatform:
    """The X platform configured for `fake` (public client unless a secret is given)."""
    env = {
        "OCMA_X_API_BASE": fake.base_url,
        "OCMA_X_AUTH_BASE": fake.base_url,
        "OCMA_X_CLIENT_ID": CLIENT_ID,
        "OCMA_X_CONSUMER_SECRET": CONSUMER_SECRET,
        **extra,
    }
    return XPlatform(env=env)


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    """A started FakeX."""
    with FakeX() as server:
        yield server


REDIRECT = "http://127.0.0.1:8000/oauth/callback/x"


def connect(platform: XPlatform, fake: FakeX) -> AccountContext:
    """Connect as a user would (authorize, code exchange with PKCE, who-am-I)."""
    from ocma_core.oauth_client import authorize_url, new_code_verifier
    from ocma_core.testing.conformance import run

    verifier = new_code_verifier()
    url = authorize_url(platform.oauth_client(), state="s1", redirect_uri=REDIRECT, verifier=verifier)
    code, _ = fake.authorize(url)
    tokens = run(platform.exchange_code(code, verifier, REDIRECT))
    ctx = AccountContext(account_id="acct", external_id="", handle="", tokens=tokens)
    profile = run(platform.get_profile(ctx))
    return AccountContext(
        account_id="acct", external_id=profile.external_id, handle=profile.handle, tokens=tokens
    )


@pytest.fixture
def x_platform(fake_x: FakeX) -> XPlatform:
    """The platform pointed at the fake, with media polling observed instead of slept."""
    platform = platform_for(fake_x)
    platform.slept = []  # type: ignore[attr-defined]

    async def no_sleep(seconds: float) -> None:
        platform.slept.append(seconds)  # type: ignore[attr-defined]

    platform.sleep = no_sleep  # type: ignore[method-assign]
    return platform


@pytest.fixture
def x_ctx(x_platform: XPlatform, fake_x: FakeX) -> AccountContext:
    """A connected account."""
    return connect(x_platform, fake_x)
