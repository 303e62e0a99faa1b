"""Helpers shared by the LinkedIn tests: environment for the fake and a connected account context."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Coroutine
from typing import Any, TypeVar

from fake_linkedin import CLIENT_ID, CLIENT_SECRET, FakeLinkedIn
from ocma_linkedin import LinkedInPlatform

from ocma_core import AccountContext
from ocma_core.oauth_client import authorize_url

T = TypeVar("T")
REDIRECT = "http://127.0.0.1:8000/oauth/callback/linkedin"


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine in a fresh event loop."""
    return asyncio.run(coro)


def linkedin_env(fake: FakeLinkedIn, scopes: str = "member", **extra: str) -> dict[str, str]:
    """Environment pointing the plugin at `fake`."""
    env = {
        "OCMA_LINKEDIN_API_BASE": fake.base_url,
        "OCMA_LINKEDIN_AUTH_BASE": fake.base_url,
        "OCMA_LINKEDIN_CLIENT_ID": CLIENT_ID,
        "OCMA_LINKEDIN_CLIENT_SECRET": CLIENT_SECRET,
        "OCMA_LINKEDIN_SCOPES": scopes,
    }
    env.update({f"OCMA_LINKEDIN_{k.upper()}": v for k, v in extra.items()})
    return env


def connect(platform: LinkedInPlatform, fake: FakeLinkedIn, **settings: Any) -> AccountContext:
    """Connect as the fake member would (consent, code exchange, userinfo) and return the account context."""
    client = platform.oauth_client()
    state = secrets.token_urlsafe(8)
    code, _ = fake.authorize(authorize_url(client, state=state, redirect_uri=REDIRECT, verifier=None))
    tokens = run(platform.exchange_code(code, None, REDIRECT))
    bare = AccountContext(
        account_id="a1", external_id="", handle="", tokens=tokens, settings=dict(tokens.extra)
    )
    profile = run(platform.get_profile(bare))
    return AccountContext(
        account_id="a1",
        external_id=profile.external_id,
        handle=profile.handle,
        tokens=tokens,
        settings={**tokens.extra, **profile.extra, **settings},
    )
