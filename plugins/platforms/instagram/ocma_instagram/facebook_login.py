"""The Facebook Login variant: an Instagram professional account linked to a Facebook Page (graph.facebook.com).

Meta documents ("Instagram API with Facebook Login": Get started, Content Publishing): Facebook Login with
`instagram_basic`, `instagram_content_publish`, `instagram_manage_insights`, `pages_show_list` and
`pages_read_engagement`; the code is exchanged at `GET /oauth/access_token`, made long-lived with
`grant_type=fb_exchange_token` (about 60 days), and `GET /me/accounts?fields=instagram_business_account`
names the Instagram account behind each Page. Publishing and insights then use the same `/{ig-user-id}/media`
container calls on graph.facebook.com. There are no refresh tokens: OCMA stores the Page's token (which does
not expire) with the user token's expiry as the account's, and warns ahead of it like the Facebook plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ocma_core import AuthExpired, Rejected, TokenSet
from ocma_core.platforms import graph

if TYPE_CHECKING:
    from ocma_core import AccountContext
    from ocma_instagram.platform import InstagramPlatform

SCOPES = (
    "instagram_basic",
    "instagram_content_publish",
    "instagram_manage_insights",
    "instagram_manage_comments",
    "pages_show_list",
    "pages_read_engagement",
)


async def exchange_code(platform: InstagramPlatform, code: str, redirect_uri: str, page: str) -> TokenSet:
    """Code → long-lived user token → the Page (option `page`, or the only one) with its Instagram account."""
    long_lived = await graph.facebook_user_token(platform, code, redirect_uri)
    response = await platform.send(
        "GET",
        f"{platform.api_base}/{platform.version}/me/accounts",
        params={
            "fields": "id,name,access_token,instagram_business_account{id,username}",
            "limit": "100",
            "access_token": str(long_lived["access_token"]),
        },
    )
    platform.raise_for_status(response, effect=False)
    pages = [
        p
        for p in response.json().get("data") or []
        if isinstance(p, dict) and p.get("instagram_business_account")
    ]
    chosen = _choose(pages, page.strip())
    ig = chosen["instagram_business_account"]
    extra: dict[str, Any] = {"login": "facebook", "ig_user_id": str(ig["id"]), "page_id": str(chosen["id"])}
    return graph.page_token_set(long_lived, str(chosen["access_token"]), extra)


def _choose(pages: list[dict[str, Any]], wanted: str) -> dict[str, Any]:
    listing = ", ".join(
        f"@{p['instagram_business_account'].get('username', '?')} via {p.get('name')} (page={p.get('id')})"
        for p in pages
    )
    if not pages:
        raise Rejected(
            "None of this login's Facebook Pages has an Instagram professional account linked (or the app was not "
            "given access to it). Link the Instagram account to a Page in Meta Business Suite, then connect again."
        )
    for page in pages:
        ig = page["instagram_business_account"]
        if wanted and wanted.lower().lstrip("@") in (
            str(page.get("id")),
            str(page.get("name")).lower(),
            str(ig.get("id")),
            str(ig.get("username", "")).lower(),
        ):
            return page
    if not wanted and len(pages) == 1:
        return pages[0]
    raise Rejected(f"Choose the Instagram account with the option page=ID (or its @username): {listing}.")


def no_refresh(ctx: AccountContext) -> AuthExpired:
    """Facebook Login issues no refresh tokens."""
    said = "Instagram through Facebook Login has no refresh tokens: log in with Facebook again to reconnect"
    return graph.no_refresh_token(ctx, said)
