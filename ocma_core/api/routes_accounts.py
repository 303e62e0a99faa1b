"""Connected accounts and the OAuth flow."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ocma_core.api.auth import Caller, get_ocma, require
from ocma_core.api.openapi import errors
from ocma_core.api.schemas import ConnectionTestOut, ConnectUrlOut
from ocma_core.context import Ocma
from ocma_core.db.models import Account
from ocma_core.permissions import Action
from ocma_core.services import accounts, oauth_browser
from ocma_core.services.account_settings import settings_view, update_account_settings

router = APIRouter(tags=["accounts"])


class AccountOut(BaseModel):
    """An account as the API shows it (never its tokens)."""

    id: str
    platform: str
    handle: str
    display_name: str
    external_id: str
    status: str
    expires_at: datetime | None
    refresh_expires_at: datetime | None
    scopes: list[str]
    last_error: str | None
    created_at: datetime
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="The settings a person may change on the account, as its platform shows them (e.g. "
        "Pinterest's default board and the boards to choose from); change them with PATCH .../settings.",
    )

    @classmethod
    def of(cls, account: Account) -> AccountOut:
        """Project an account row."""
        return cls(
            id=account.id,
            platform=account.platform,
            handle=account.handle,
            display_name=account.display_name,
            external_id=account.external_id,
            status=str(account.status),
            expires_at=account.expires_at,
            refresh_expires_at=account.refresh_expires_at,
            scopes=account.scopes,
            last_error=account.last_error,
            created_at=account.created_at,
            settings=settings_view(account),
        )


class ConnectWithCredentials(BaseModel):
    """Connect a platform that uses an app password or an instance token (or nothing: the sandbox)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    platform: str = Field(min_length=1, max_length=64)
    credentials: dict[str, str] = Field(
        default_factory=dict,
        description="The platform's fields, e.g. handle and app_password (none for the sandbox).",
    )


@router.get("/v1/accounts")
def list_accounts(
    caller: Caller = Depends(require(Action.ACCOUNTS_READ)), ocma: Ocma = Depends(get_ocma)
) -> list[AccountOut]:
    """Accounts of the caller's workspace with their status and token expiry."""
    return [AccountOut.of(a) for a in accounts.list_accounts(ocma, caller.workspace_id)]


@router.get(
    "/v1/accounts/connect/{platform}",
    response_model=ConnectUrlOut,
    responses={
        302: {"description": "Redirect to OCMA's start link (format=redirect)."},
        **errors(503),
    },
)
def connect(
    platform: str,
    format: str = Query("redirect", pattern="^(redirect|json)$"),
    instance: str | None = Query(
        None, description="The server to connect (Mastodon and other federated platforms)."
    ),
    page: str | None = Query(
        None, description="The Page to connect, by id or name (Facebook: one account per Page)."
    ),
    board: str | None = Query(
        None, description="The account's default board, by id or name (Pinterest; changeable later)."
    ),
    caller: Caller = Depends(require(Action.ACCOUNTS_CONNECT)),
    ocma: Ocma = Depends(get_ocma),
) -> Response | ConnectUrlOut:
    """Start OAuth: OCMA's start link (single use), which binds the browser and goes on to the platform.

    Open the link in the browser of the person who connects the account; the platform's answer is only
    accepted in that browser. `format=json` returns the link instead of redirecting to it.
    """
    params = {k: v for k, v in (("instance", instance), ("page", page), ("board", board)) if v} or None
    url = oauth_browser.start_link(ocma, caller.workspace_id, platform, params=params)
    if format == "json":
        return ConnectUrlOut(authorize_url=url)
    return RedirectResponse(url, status_code=302)


@router.post("/v1/accounts", status_code=201, responses=errors(404, 429, 502))
async def connect_with_credentials(
    body: ConnectWithCredentials,
    caller: Caller = Depends(require(Action.ACCOUNTS_CONNECT)),
    ocma: Ocma = Depends(get_ocma),
) -> AccountOut:
    """Connect with an app password or instance token (Bluesky, Mastodon, ...)."""
    account = await accounts.connect_with_credentials(
        ocma, caller.workspace_id, body.platform, body.credentials
    )
    return AccountOut.of(account)


@router.get("/v1/accounts/{account_id}")
def get_account(
    account_id: str, caller: Caller = Depends(require(Action.ACCOUNTS_READ)), ocma: Ocma = Depends(get_ocma)
) -> AccountOut:
    """One account."""
    return AccountOut.of(accounts.get_account(ocma, caller.workspace_id, account_id))


@router.post("/v1/accounts/{account_id}/test", responses=errors(409, 429, 502))
async def test_connection(
    account_id: str, caller: Caller = Depends(require(Action.ACCOUNTS_TEST)), ocma: Ocma = Depends(get_ocma)
) -> ConnectionTestOut:
    """Call the platform's who-am-I with the stored tokens."""
    profile = await accounts.test_connection(ocma, caller.workspace_id, account_id)
    return ConnectionTestOut(ok=True, external_id=profile.external_id, handle=profile.handle)


class AccountSettingsIn(BaseModel):
    """New values of some of an account's settings (the names its platform declares)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    settings: dict[str, str] = Field(
        description='e.g. {"default_board": "Spring recipes"} for a Pinterest account', min_length=1
    )


@router.patch("/v1/accounts/{account_id}/settings", responses=errors(404, 409, 422, 429, 502))
async def change_settings(
    account_id: str,
    body: AccountSettingsIn,
    caller: Caller = Depends(require(Action.ACCOUNTS_CONNECT)),
    ocma: Ocma = Depends(get_ocma),
) -> AccountOut:
    """Change account settings (checked with the platform first, e.g. that the board exists)."""
    account = await update_account_settings(ocma, caller.workspace_id, account_id, body.settings)
    return AccountOut.of(account)


@router.delete("/v1/accounts/{account_id}")
def disconnect(
    account_id: str,
    caller: Caller = Depends(require(Action.ACCOUNTS_DISCONNECT)),
    ocma: Ocma = Depends(get_ocma),
) -> AccountOut:
    """Disconnect an account and forget its tokens."""
    return AccountOut.of(accounts.disconnect_account(ocma, caller.workspace_id, account_id))
