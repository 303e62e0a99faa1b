"""Settings that point the Facebook plugin at FakeFacebook."""

from __future__ import annotations

from fake_facebook import APP_ID, APP_SECRET, FakeFacebook
from ocma_facebook import FacebookPlatform

from ocma_core import AccountContext
from ocma_core.testing.fake_graph import connect_account


def facebook_env(fake: FakeFacebook, **more: str) -> dict[str, str]:
    """The plugin's settings for the fake."""
    return {
        "OCMA_FACEBOOK_API_BASE": fake.base_url,
        "OCMA_FACEBOOK_AUTH_BASE": fake.base_url,
        "OCMA_FACEBOOK_APP_ID": APP_ID,
        "OCMA_FACEBOOK_APP_SECRET": APP_SECRET,
        **more,
    }


REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback/facebook"


async def connect(platform: FacebookPlatform, fake: FakeFacebook, page: str = "") -> AccountContext:
    """Log in as the fake's user, pick `page`, and return the account's context (as the core builds it)."""
    return await connect_account(platform, fake, REDIRECT_URI, "acct-fb", {"page": page})
