"""Settings that point the Threads plugin at FakeThreads (the media host is ocma_core's MediaHost)."""

from __future__ import annotations

from fake_threads import APP_ID, APP_SECRET, FakeThreads
from ocma_threads import ThreadsPlatform

from ocma_core import AccountContext
from ocma_core.testing.fake_graph import connect_account

REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback/threads"


def threads_env(fake: FakeThreads, **more: str) -> dict[str, str]:
    """The plugin's settings for the fake (login and API on the one fake)."""
    return {
        "OCMA_THREADS_API_BASE": fake.base_url,
        "OCMA_THREADS_AUTH_BASE": fake.base_url,
        "OCMA_THREADS_APP_ID": APP_ID,
        "OCMA_THREADS_APP_SECRET": APP_SECRET,
        **more,
    }


async def connect(platform: ThreadsPlatform, fake: FakeThreads) -> AccountContext:
    """Log in as the fake's user and return the account's context (as the core builds it)."""
    return await connect_account(platform, fake, REDIRECT_URI, "acct-th")
