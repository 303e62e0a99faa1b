"""Settings that point the Facebook plugin at FakeFacebook."""

from __future__ import annotations

from fake_facebook import APP_ID, APP_SECRET, FakeFacebook
from ocma_facebook import FacebookPlatform

from ocma_core import AccountContext
from ocma_core.oauth_client import authorize_url


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
    client = platform.oauth_client({"page": page})
    url = authorize_url(client, state="state-1", redirect_uri=REDIRECT_URI, verifier=None)
    code, _ = fake.authorize(url)
    tokens = await platform.exchange_code(code, None, REDIRECT_URI, {"page": page})
    probe = AccountContext(
        account_id="", external_id="", handle="", tokens=tokens, settings=dict(tokens.extra)
    )
    profile = await platform.get_profile(probe)
    return AccountContext(
        account_id="acct-fb",
        external_id=profile.external_id,
        handle=profile.handle,
        tokens=tokens,
        settings={**tokens.extra, **profile.extra},
    )
