"""Server-side fetching of URLs OCMA did not configure itself, guarded against request forgery.

Use `fetch` / `fetch_sync` for a one-off download, and `guarded_async_client` / `guarded_client` for an API
whose base URL a workspace member supplied (a Mastodon instance, a Bluesky PDS). See docs/security.md.
"""

from ocma_core.net.fetch import Expect, Fetched, check_endpoint, fetch, fetch_sync
from ocma_core.net.policy import (
    ALLOW_PRIVATE_ENV,
    ALLOWED_PORTS_ENV,
    FetchPolicy,
    FetchRefused,
    check_url,
    host_of,
    is_public,
)
from ocma_core.net.transport import guarded_async_client, guarded_client

__all__ = [
    "ALLOWED_PORTS_ENV",
    "ALLOW_PRIVATE_ENV",
    "Expect",
    "FetchPolicy",
    "FetchRefused",
    "Fetched",
    "check_endpoint",
    "check_url",
    "fetch",
    "fetch_sync",
    "guarded_async_client",
    "guarded_client",
    "host_of",
    "is_public",
]
