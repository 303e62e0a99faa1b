"""Binding an OAuth authorisation to the browser that opens it.

A consent link whose answer comes back to OCMA's public callback would otherwise connect whoever approves it
to the workspace that asked for it: a link sent to someone else connects *their* account to the sender's
workspace. So people get OCMA's start link, not the platform's consent URL. Opening it binds the browser (a
random nonce in an HttpOnly cookie, stored hashed with the state), names the workspace the account will join,
and only then goes on to the platform; the callback accepts the answer only in that browser.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import update
from sqlmodel import col

from ocma_core.context import Ocma
from ocma_core.db.models import OAuthState, Workspace
from ocma_core.registry import get_platform
from ocma_core.services.accounts import (
    OAuthFlowError,
    begin_connect,
    browser_digest,
    consent_url,
    find_state,
)

COOKIE = "ocma_oauth_browser"
COOKIE_PATH = "/oauth"


@dataclass(frozen=True)
class StartPage:
    """What the start page shows: where the account goes, and the platform's consent URL."""

    consent_url: str
    workspace_name: str
    platform_name: str


def start_link(
    ocma: Ocma, workspace_id: str, platform_name: str, params: Mapping[str, str] | None = None
) -> str:
    """Start connecting and return OCMA's start link (single use, expires with the state)."""
    state, _ = begin_connect(ocma, workspace_id, platform_name, params=params)
    platform = get_platform(platform_name).name
    return f"{ocma.settings.public_url.rstrip('/')}/oauth/start/{platform}?{urlencode({'state': state})}"


def new_browser_nonce() -> str:
    """A fresh nonce for a browser that has none yet."""
    return secrets.token_urlsafe(32)


def open_start_link(ocma: Ocma, platform_name: str, state: str, browser: str) -> StartPage:
    """Bind the state to `browser` (first opener only) and say where the platform's consent screen is."""
    platform = get_platform(platform_name)
    row = find_state(ocma, platform.name, state)
    digest = browser_digest(browser)
    if row.browser_hash is None:
        with ocma.session() as session:
            session.execute(
                update(OAuthState)
                .where(col(OAuthState.id) == row.id, col(OAuthState.browser_hash).is_(None))
                .values(browser_hash=digest)
            )
        row = find_state(ocma, platform.name, state)
    if row.browser_hash != digest:
        raise OAuthFlowError(
            "This connect link was already opened in another browser.",
            fix="Start connecting again from OCMA; a connect link works in the first browser that opens it.",
        )
    with ocma.session() as session:
        workspace = session.get(Workspace, row.workspace_id)
    name = workspace.name if workspace is not None else row.workspace_id
    return StartPage(consent_url(ocma, row, state), name, platform.display_name or platform.name)
