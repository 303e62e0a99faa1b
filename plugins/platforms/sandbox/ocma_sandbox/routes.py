"""The sandbox's public pages, added to OCMA's app through the `register_routes` hook.

GET /sandbox                  every sandbox account (HTML)
GET /sandbox/{name}           one account's feed (HTML)
GET /sandbox/{name}.json      the same feed as JSON

Like a real platform's public profile these need no API key. Media are shown through OCMA's own signed
media URLs, signed afresh on each request (so a feed never shows an expired link).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from ocma_sandbox.feed import NAME_RULE, FeedPost, SandboxAccount
from ocma_sandbox.page import NOTICE, SECURITY_HEADERS, MediaUrl, feed_page, index_page, missing_page
from ocma_sandbox.platform import NO_METRICS, SandboxPlatform

router = APIRouter(tags=["sandbox"])


def _platform() -> SandboxPlatform | None:
    from ocma_core.app.accounts import get_platform
    from ocma_core.errors import OcmaError

    try:
        platform = get_platform("sandbox")
    except OcmaError:
        return None
    return platform if isinstance(platform, SandboxPlatform) else None


def _account(name: str) -> tuple[SandboxPlatform, SandboxAccount] | None:
    platform = _platform()
    if platform is None or not NAME_RULE.match(name):
        return None
    account = platform.feed.account_named(name)
    return (platform, account) if account is not None else None


def _signer(request: Request, base: str) -> MediaUrl:
    """Signs OCMA media URLs under `base`; None for every item when no signing key is available."""
    from ocma_core.app.media import sign_media_url
    from ocma_core.errors import OcmaError

    ocma = request.app.state.ocma
    try:
        secret = ocma.vault_secret_for_urls()
    except OcmaError:
        return lambda media_id: None
    ttl = ocma.settings.media_url_ttl_s

    def sign(media_id: str) -> str | None:
        return sign_media_url(base, media_id, secret, ttl) if media_id else None

    return sign


def _html(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status, headers=SECURITY_HEADERS)


@router.get("/sandbox", response_class=HTMLResponse, include_in_schema=False)
def sandbox_index(request: Request) -> HTMLResponse:
    """Every sandbox account on this server."""
    platform = _platform()
    accounts = platform.feed.accounts() if platform is not None else []
    return _html(index_page(accounts, base=request.scope.get("root_path", "") + "/sandbox"))


@router.get("/sandbox/{name}.json", include_in_schema=False)
def sandbox_feed_json(name: str, request: Request) -> JSONResponse:
    """One sandbox account's feed as JSON (newest thread first), saying plainly that it is the sandbox."""
    found = _account(name)
    if found is None:
        return JSONResponse(
            {
                "sandbox": True,
                "detail": f"No sandbox account called {name!r}.",
                "fix": f"Create it with `ocma accounts connect sandbox -f name={name}`.",
            },
            status_code=404,
        )
    platform, account = found
    sign = _signer(request, request.app.state.ocma.settings.public_url)
    return JSONResponse(
        {
            "sandbox": True,
            "notice": NOTICE,
            "metrics": NO_METRICS,
            "account": {"id": account.id, "name": account.name, "page": platform.page_url(account.name)},
            "threads": [_thread_json(parts, sign) for parts in platform.feed.threads(account.id)],
        }
    )


@router.get("/sandbox/{name}", response_class=HTMLResponse, include_in_schema=False)
def sandbox_feed(name: str, request: Request) -> HTMLResponse:
    """One sandbox account's feed page."""
    found = _account(name)
    if found is None:
        return _html(missing_page(name), status=404)
    platform, account = found
    root = request.scope.get("root_path", "")
    threads = platform.feed.threads(account.id)
    return _html(feed_page(account, threads, _signer(request, root), base=root + "/sandbox"))


def _thread_json(parts: list[FeedPost], sign: MediaUrl) -> dict[str, Any]:
    return {
        "id": parts[0].root_id,
        "created_at": parts[0].created_at,
        "parts": [
            {
                "id": p.id,
                "position": p.position,
                "text": p.text,
                "media": [
                    {
                        "url": sign(str(m.get("media_id") or "")),
                        "mime_type": m.get("mime_type"),
                        "alt_text": m.get("alt_text"),
                    }
                    for m in p.media
                ],
            }
            for p in parts
        ],
    }
