"""Settings that point the Instagram plugin at FakeInstagram (the media host is ocma_core's MediaHost)."""

from __future__ import annotations

from fake_instagram import APP_ID, APP_SECRET, FakeInstagram
from ocma_instagram import InstagramPlatform

from ocma_core import AccountContext
from ocma_core.testing.fake_graph import connect_account

REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback/instagram"


def instagram_env(fake: FakeInstagram, **more: str) -> dict[str, str]:
    """The plugin's settings for the fake (login, code exchange and API on the one fake)."""
    return {
        "OCMA_INSTAGRAM_API_BASE": fake.base_url,
        "OCMA_INSTAGRAM_AUTH_BASE": fake.base_url,
        "OCMA_INSTAGRAM_OAUTH_API_BASE": fake.base_url,
        "OCMA_INSTAGRAM_APP_ID": APP_ID,
        "OCMA_INSTAGRAM_APP_SECRET": APP_SECRET,
        **more,
    }


async def connect(platform: InstagramPlatform, fake: FakeInstagram) -> AccountContext:
    """Log in as the fake's user and return the account's context (as the core builds it)."""
    return await connect_account(platform, fake, REDIRECT_URI, "acct-ig")
