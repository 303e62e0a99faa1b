"""The browser side of OAuth: OCMA's start link and the platform's callback, as plain pages."""

from __future__ import annotations

import html

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from ocma_core.api.auth import get_ocma
from ocma_core.context import Ocma
from ocma_core.errors import OcmaError
from ocma_core.services import accounts, oauth_browser

router = APIRouter(tags=["accounts"], include_in_schema=False)

# The start link and the callback carry one-time secrets in their URLs: keep them out of caches and referrers.
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


def _page(title: str, message: str, ok: bool, status: int, extra: str = "") -> HTMLResponse:
    colour = "#1a7f37" if ok else "#cf222e"
    body = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>OCMA — {html.escape(title)}</title></head>"
        f"<body style='font-family:system-ui;max-width:40em;margin:4em auto'>"
        f"<h1 style='color:{colour}'>{html.escape(title)}</h1><p>{html.escape(message)}</p>{extra}</body></html>"
    )
    return HTMLResponse(body, status_code=status, headers=_PRIVATE)


@router.get("/oauth/start/{platform}")
def oauth_start(
    platform: str, request: Request, state: str = "", ocma: Ocma = Depends(get_ocma)
) -> HTMLResponse:
    """Bind this browser to the authorisation and say which workspace the account will join."""
    browser = request.cookies.get(oauth_browser.COOKIE) or oauth_browser.new_browser_nonce()
    try:
        page = oauth_browser.open_start_link(ocma, platform, state, browser)
    except OcmaError as exc:
        return _page("Cannot connect", f"{exc} {exc.fix or ''}".strip(), ok=False, status=400)
    link = (
        f"<p><a href='{html.escape(page.consent_url, quote=True)}' rel='noreferrer' "
        f"style='font-size:1.2em'>Continue to {html.escape(page.platform_name)}</a></p>"
        "<p style='color:#57606a'>Only continue if you asked for this yourself. Whoever approves on the next "
        "screen connects their account to this workspace.</p>"
    )
    response = _page(
        f"Connect a {page.platform_name} account",
        f"The account you approve next will post for the OCMA workspace “{page.workspace_name}”.",
        ok=True,
        status=200,
        extra=link,
    )
    response.set_cookie(
        oauth_browser.COOKIE,
        browser,
        max_age=ocma.settings.oauth_state_ttl_s,
        path=oauth_browser.COOKIE_PATH,
        secure=ocma.settings.public_url.startswith("https://"),
        httponly=True,
        samesite="lax",  # sent on the platform's top-level redirect back to the callback
    )
    return response


@router.get("/oauth/callback/{platform}")
async def oauth_callback(
    platform: str,
    request: Request,
    state: str = "",
    code: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
    ocma: Ocma = Depends(get_ocma),
) -> HTMLResponse:
    """Where the platform sends the user back: finish connecting (in the bound browser only) and say so."""
    try:
        account = await accounts.complete_connect(
            ocma,
            platform,
            state=state,
            code=code,
            error=error_description or error,
            browser=request.cookies.get(oauth_browser.COOKIE),
            bound=True,
        )
    except OcmaError as exc:
        return _page("Connection failed", f"{exc} {exc.fix or ''}".strip(), ok=False, status=400)
    return _page(
        "Account connected",
        f"{account.platform} account {account.handle} is connected to OCMA. You can close this window.",
        ok=True,
        status=200,
    )
