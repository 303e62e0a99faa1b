"""Facebook Login for Pages: code → short-lived user token → long-lived user token → the chosen Page's token.

Meta documents ("Manually Build a Login Flow", "Long-Lived Access Tokens", "Page Access Tokens"):
the code is exchanged at `GET /oauth/access_token` (client_id, redirect_uri, client_secret, code); a
short-lived user token becomes a long-lived one (about 60 days) with `grant_type=fb_exchange_token`; a Page
token fetched with a long-lived user token from `/me/accounts` has no expiry date, but stops working when
the user's data access expires (90 days without use) or the user's session is invalidated. There are no
refresh tokens: the person logs in again. OCMA keeps the long-lived user token's expiry as the account's
`expires_at` (so `ocma doctor` and the expiry warning say when to reconnect) and stores only the Page token.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ocma_core import AuthExpired, Rejected, TokenSet
from ocma_core.platforms import graph

if TYPE_CHECKING:
    from ocma_facebook.platform import FacebookPlatform

#: Permissions a Page integration asks for (publishing, reading its posts back, insights).
PAGE_SCOPES = ("pages_show_list", "pages_manage_posts", "pages_read_engagement", "read_insights")
#: Page tasks that allow creating content as the Page.
POSTING_TASKS = frozenset({"CREATE_CONTENT", "MANAGE"})


async def user_token(platform: FacebookPlatform, code: str, redirect_uri: str) -> dict[str, Any]:
    """The code exchanged for a short-lived user token, then that for a long-lived one (answer bodies)."""
    return await graph.facebook_user_token(platform, code, redirect_uri)


async def managed_pages(platform: FacebookPlatform, token: str) -> list[dict[str, Any]]:
    """The Pages the user manages, each with its Page token (`GET /me/accounts`, every page of results)."""
    pages: list[dict[str, Any]] = []
    url: str | None = platform.graph_url("me/accounts")
    query: dict[str, str] | None = {"fields": "id,name,access_token,tasks", "limit": "100"}
    while url and len(pages) < 1000:
        extra = platform.auth_params(token, query) if query is not None else None  # `next` carries them
        response = await platform.send("GET", url, params=extra, bucket="me/accounts")
        platform.raise_for_status(response, effect=False)
        body = response.json()
        pages.extend(p for p in body.get("data", []) if isinstance(p, dict) and p.get("access_token"))
        url, query = body.get("paging", {}).get("next"), None
    return pages


def choose_page(pages: list[dict[str, Any]], wanted: str) -> dict[str, Any]:
    """The Page the person picked (by id or name); the only one when they manage one; else Rejected."""
    listing = ", ".join(f"{p.get('name')} (page={p.get('id')})" for p in pages)
    if not pages:
        raise Rejected(
            "This Facebook user manages no Page this app may use. Grant the app access to a Page in the login "
            'dialog ("Edit access"), or create a Page first.'
        )
    if wanted:
        for page in pages:
            if (
                wanted in (str(page.get("id")), str(page.get("name")))
                or str(page.get("name")).lower() == wanted.lower()
            ):
                return page
        raise Rejected(f"No managed Page is called {wanted!r}. The Pages this login can use: {listing}.")
    if len(pages) == 1:
        return pages[0]
    raise Rejected(
        f"This login manages {len(pages)} Pages; OCMA connects one account per Page. Connect again and choose "
        f"one with the option page=ID (e.g. `ocma accounts connect facebook --page ID`): {listing}."
    )


def page_tokens(long_lived: dict[str, Any], page: dict[str, Any], now: datetime | None = None) -> TokenSet:
    """The stored tokens: the Page token, with the long-lived user token's expiry as when to reconnect."""
    tasks = [str(t) for t in page.get("tasks") or []]
    if tasks and not POSTING_TASKS & set(tasks):
        raise Rejected(
            f"The user may not create content on the Page {page.get('name')!r} (tasks: {', '.join(tasks)}); "
            "ask a Page admin for the Create Content task."
        )
    extra: dict[str, Any] = {"page_id": str(page["id"]), "page_name": str(page.get("name") or "")}
    return graph.page_token_set(long_lived, str(page["access_token"]), extra, now)


async def debug_token(platform: FacebookPlatform, token: str) -> dict[str, Any]:
    """`GET /debug_token` with the app token: validity, type, scopes, `expires_at` and data-access expiry."""
    app_token = f"{platform.app_id}|{platform.app_secret}"
    response = await platform.send(
        "GET",
        platform.graph_url("debug_token"),
        params={"input_token": token, "access_token": app_token},
        bucket="debug_token",
    )
    platform.raise_for_status(response, effect=False)
    data = response.json().get("data") or {}
    if not data.get("is_valid", False):
        error = data.get("error") or {}
        raise AuthExpired(
            f"Facebook says the Page token is no longer valid: {error.get('message') or 'is_valid is false'}. "
            "Reconnect the account.",
            code=str(error.get("code") or "190"),
        )
    return dict(data)


def unix_time(value: Any) -> str | None:
    """An ISO time from Meta's unix seconds (0 means never)."""
    if not isinstance(value, int | float) or value <= 0:
        return None
    return datetime.fromtimestamp(value, UTC).isoformat()
