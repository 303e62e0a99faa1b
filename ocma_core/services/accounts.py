"""Connected accounts: OAuth and credential connection, encrypted tokens, health, refresh."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from ocma_core.context import Ocma
from ocma_core.db.models import Account, AccountStatus, OAuthState
from ocma_core.db.types import utcnow
from ocma_core.errors import (
    AuthExpired,
    ConfigError,
    ConflictError,
    NotFoundError,
    OcmaError,
    PlatformError,
    Rejected,
    Surface,
    ValidationFailed,
    unreachable,
)
from ocma_core.events import Event, dispatch, record
from ocma_core.oauth_client import authorize_url, new_code_verifier
from ocma_core.platforms import AccountContext, AuthKind, OAuthClient, Platform, Profile, TokenSet
from ocma_core.registry import get_platform
from ocma_core.services import held
from ocma_core.services.connect_errors import connect_failure

# Where a person finds the workspace's account ids, in general and on each surface.
FIND_ACCOUNTS = "List the workspace's accounts to find the id."
FIND_ACCOUNTS_ON: dict[Surface, str] = {
    "cli": "List them with `ocma accounts list`.",
    "api": "List them with GET /v1/accounts.",
}


class OAuthFlowError(OcmaError):
    """The OAuth callback cannot be completed; the message says why and what to do."""


def _state_id(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def callback_url(ocma: Ocma, platform: str) -> str:
    """The redirect URI registered with the platform: {OCMA_PUBLIC_URL}/oauth/callback/{platform}."""
    return f"{ocma.settings.public_url.rstrip('/')}/oauth/callback/{platform}"


def start_connect(
    ocma: Ocma,
    workspace_id: str,
    platform_name: str,
    redirect_uri: str | None = None,
    params: Mapping[str, str] | None = None,
) -> str:
    """Store a single-use state (and PKCE verifier) and return the platform's consent URL.

    `params` are connection options the platform's OAuth methods accept (e.g. Mastodon's `instance`);
    they are kept with the state, encrypted, and handed to the code exchange. A consent URL whose answer
    comes to OCMA's public callback is only accepted from a browser bound to it: hand people
    `oauth_browser.start_link` instead, which binds the browser that opens it.
    """
    return begin_connect(ocma, workspace_id, platform_name, redirect_uri, params)[1]


def begin_connect(
    ocma: Ocma,
    workspace_id: str,
    platform_name: str,
    redirect_uri: str | None = None,
    params: Mapping[str, str] | None = None,
) -> tuple[str, str]:
    """Store a single-use state (and PKCE verifier); return the state and the platform's consent URL."""
    platform = get_platform(platform_name)
    if platform.auth_kind is not AuthKind.OAUTH2:
        fields = ", ".join(platform.credential_fields) or "credentials"
        raise ValidationFailed(
            f"{platform.display_name or platform.name} connects with {fields}, not OAuth.",
            fix=f"Connect it with its {fields}.",
            fixes={
                "cli": f"Run `ocma accounts connect {platform.name}` and give {fields}.",
                "api": f"POST /v1/accounts with the platform and its credentials ({fields}).",
            },
        )
    options = {k: str(v) for k, v in (params or {}).items() if str(v).strip()}
    client = _oauth_client(platform, options)
    state = secrets.token_urlsafe(32)
    verifier = new_code_verifier() if client.pkce else None
    redirect = redirect_uri or callback_url(ocma, platform.name)
    now = utcnow()
    secret = json.dumps({"verifier": verifier, "params": options})
    with ocma.session() as session:
        session.add(
            OAuthState(
                id=_state_id(state),
                workspace_id=workspace_id,
                platform=platform.name,
                verifier_enc=ocma.vault.encrypt(secret),
                redirect_uri=redirect,
                expires_at=now + timedelta(seconds=ocma.settings.oauth_state_ttl_s),
            )
        )
    return state, authorize_url(client, state=state, redirect_uri=redirect, verifier=verifier)


def _oauth_client(platform: Platform, options: Mapping[str, str]) -> OAuthClient:
    """The platform's OAuth client for these connection options (only those in `connect_options`)."""
    unknown = sorted(set(options) - set(platform.connect_options))
    if unknown:
        accepted = ", ".join(sorted(platform.connect_options)) or "none"
        raise ValidationFailed(
            f"{platform.display_name or platform.name} does not take the connection option(s)"
            f" {', '.join(unknown)} (it takes: {accepted})."
        )
    return platform.oauth_client(options)


def consent_url(ocma: Ocma, row: OAuthState, state: str) -> str:
    """The platform's consent URL for a stored state (the same one `begin_connect` returned)."""
    platform = get_platform(row.platform)
    verifier, options = _state_secret(ocma, row)
    client = _oauth_client(platform, options)
    return authorize_url(client, state=state, redirect_uri=row.redirect_uri, verifier=verifier)


def find_state(ocma: Ocma, platform_name: str, state: str) -> OAuthState:
    """The pending state a link or callback names, refused when unknown, for another platform, used or expired."""
    if not state or len(state) > 512:
        raise OAuthFlowError("The authorisation response has no valid state.", fix="Start connecting again.")
    with ocma.session() as session:
        row = session.get(OAuthState, _state_id(state))
    if row is None:
        raise OAuthFlowError(
            "Unknown authorisation state (it was not issued here).", fix="Start connecting again."
        )
    if row.platform != platform_name:
        raise OAuthFlowError(
            f"This authorisation was started for {row.platform}, not {platform_name}.",
            fix="Start connecting again.",
        )
    if row.used_at is not None:
        raise OAuthFlowError("This authorisation link was already used.", fix="Start connecting again.")
    if row.expires_at < utcnow():
        raise OAuthFlowError("The authorisation took too long and expired.", fix="Start connecting again.")
    return row


def browser_digest(browser: str) -> str:
    """How a browser's binding nonce is stored (its SHA-256; the nonce itself lives only in its cookie)."""
    return hashlib.sha256(b"ocma-oauth-browser\0" + browser.encode("utf-8")).hexdigest()


def _state_secret(ocma: Ocma, row: OAuthState) -> tuple[str | None, dict[str, str]]:
    """The PKCE verifier and connection options kept with a state."""
    if not row.verifier_enc:
        return None, {}
    raw = ocma.vault.decrypt(row.verifier_enc)
    try:
        data = json.loads(raw)
    except ValueError:
        return raw, {}  # a bare verifier
    if not isinstance(data, dict):
        return raw, {}
    return data.get("verifier"), dict(data.get("params") or {})


def _consume_state(
    ocma: Ocma, platform_name: str, state: str, browser: str | None, bound: bool
) -> OAuthState:
    """Mark the state used in one conditional update, so a replay can never succeed.

    With `bound`, the state must have been opened through OCMA's start link by the browser whose nonce is
    `browser` (its cookie); a mismatch is refused without using the state up.
    """
    row = find_state(ocma, platform_name, state)
    if bound and (row.browser_hash is None or browser is None or row.browser_hash != browser_digest(browser)):
        raise OAuthFlowError(
            "This authorisation was not started in this browser.",
            fix="Start connecting again from OCMA in this browser (an OCMA connect link is for the person "
            "who asked for it; never finish one someone else sent you).",
        )
    with ocma.session() as session:
        result = session.execute(
            update(OAuthState)
            .where(col(OAuthState.id) == row.id, col(OAuthState.used_at).is_(None))
            .values(used_at=utcnow())
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise OAuthFlowError("This authorisation link was already used.", fix="Start connecting again.")
    return row


async def complete_connect(
    ocma: Ocma,
    platform_name: str,
    *,
    state: str,
    code: str | None,
    error: str | None = None,
    browser: str | None = None,
    bound: bool = False,
) -> Account:
    """Finish an OAuth connection: check the state, exchange the code, fetch the profile, store it.

    `bound` (OCMA's public callback) requires the browser nonce the start link set (`browser`).
    """
    platform = get_platform(platform_name)
    row = _consume_state(ocma, platform.name, state, browser, bound)
    if error:
        raise OAuthFlowError(
            f"{platform.display_name or platform.name} reported: {error}.",
            fix="Approve the requested permissions to connect the account, or try again.",
        )
    if not code:
        raise OAuthFlowError("The platform sent no authorisation code.", fix="Start connecting again.")
    verifier, options = _state_secret(ocma, row)
    signing_in = True
    try:
        tokens = await platform.exchange_code(code, verifier, row.redirect_uri, options)
        signing_in = False
        profile = await _profile(platform, tokens, tokens.extra)
    except PlatformError as exc:
        if signing_in and isinstance(exc, AuthExpired | Rejected):  # the code or verifier was refused
            raise OAuthFlowError(
                f"{platform.display_name or platform.name} refused the connection: {exc.message}",
                fix="Start connecting again; authorisation codes expire within minutes.",
            ) from None
        raise connect_failure(
            platform, exc, signing_in=signing_in, refused=lambda m, f: OAuthFlowError(m, fix=f)
        ) from None
    return save_account(ocma, row.workspace_id, platform, tokens, profile)


async def _profile(
    platform: Platform, tokens: TokenSet, settings: Mapping[str, Any] | None = None
) -> Profile:
    ctx = AccountContext(
        account_id="", external_id="", handle="", tokens=tokens, settings=dict(settings or {})
    )
    return await platform.get_profile(ctx)


async def connect_with_credentials(
    ocma: Ocma, workspace_id: str, platform_name: str, fields: Mapping[str, str]
) -> Account:
    """Connect an account with an app password or an instance token."""
    platform = get_platform(platform_name)
    missing = [
        name
        for name in platform.credential_fields
        if name not in platform.optional_credential_fields and not str(fields.get(name, "")).strip()
    ]
    fields = {k: v for k, v in fields.items() if str(v).strip()}
    if platform.auth_kind is AuthKind.OAUTH2 and not platform.credential_fields:
        raise ValidationFailed(
            f"{platform.display_name or platform.name} connects through OAuth.",
            fix="Connect it through the platform's consent page.",
            fixes={
                "cli": f"Run `ocma accounts connect {platform.name}` and open the link it prints.",
                "api": f"GET /v1/accounts/connect/{platform.name} for the consent link.",
            },
        )
    if missing:
        raise ValidationFailed(
            f"Missing {', '.join(missing)} for {platform.display_name or platform.name}.",
            problems=[{"field": name, "message": platform.credential_fields[name]} for name in missing],
        )
    signing_in = True
    try:
        tokens = await platform.connect_with_credentials(fields)
        signing_in = False
        profile = await _profile(platform, tokens, tokens.extra)
    except PlatformError as exc:
        raise connect_failure(
            platform, exc, signing_in=signing_in, refused=lambda m, f: ValidationFailed(m, fix=f)
        ) from None
    return save_account(ocma, workspace_id, platform, tokens, profile)


def save_account(
    ocma: Ocma, workspace_id: str, platform: Platform, tokens: TokenSet, profile: Profile
) -> Account:
    """Insert or update (reconnect) an account with encrypted tokens."""
    vault = ocma.vault
    with ocma.session() as session:
        account = session.exec(
            select(Account).where(
                Account.workspace_id == workspace_id,
                Account.platform == platform.name,
                Account.host == profile.host.lower(),
                Account.external_id == profile.external_id,
            )
        ).first()
        if account is None:
            account = Account(
                workspace_id=workspace_id,
                platform=platform.name,
                host=profile.host.lower(),
                external_id=profile.external_id,
                handle=profile.handle,
                access_token_enc="",
            )
        account.handle = profile.handle
        account.display_name = profile.display_name
        account.status = AccountStatus.CONNECTED
        account.last_error = None
        account.settings = {**account.settings, **tokens.extra, **profile.extra}
        _store_tokens(account, tokens, vault.encrypt)
        session.add(account)
        session.flush()
        event = Event(
            "account.connected", workspace_id, {"account_id": account.id, "platform": platform.name}
        )
        record(session, event)
        released = held.release_after_reconnect(session, account)  # future posts back to the queue
    dispatch(event, ocma)
    held.after_reconnect(ocma, released)
    return account


def _store_tokens(account: Account, tokens: TokenSet, encrypt: Any) -> None:
    account.access_token_enc = encrypt(tokens.access_token)
    account.refresh_token_enc = encrypt(tokens.refresh_token) if tokens.refresh_token else None
    account.expires_at = tokens.expires_at
    account.refresh_expires_at = tokens.refresh_expires_at
    account.scopes = list(tokens.scopes) or account.scopes
    account.updated_at = utcnow()


def list_accounts(ocma: Ocma, workspace_id: str) -> list[Account]:
    """Accounts of a workspace."""
    with ocma.session() as session:
        return list(
            session.exec(
                select(Account).where(Account.workspace_id == workspace_id).order_by(col(Account.created_at))
            )
        )


def get_account(ocma: Ocma, workspace_id: str, account_id: str, session: Session | None = None) -> Account:
    """An account of this workspace (NotFound for another workspace's)."""

    def find(s: Session) -> Account:
        account = s.get(Account, account_id)
        if account is None or account.workspace_id != workspace_id:
            raise NotFoundError(f"No account {account_id!r}.", fix=FIND_ACCOUNTS, fixes=FIND_ACCOUNTS_ON)
        return account

    if session is not None:
        return find(session)
    with ocma.session() as s:
        return find(s)


def disconnect_account(ocma: Ocma, workspace_id: str, account_id: str) -> Account:
    """Revoke the account's authorisation at the platform where it can (best effort), forget its tokens and
    mark it disconnected."""
    from ocma_core.services.account_revoke import revoke_at_platform

    revoke_at_platform(ocma, get_account(ocma, workspace_id, account_id))
    with ocma.session() as session:
        account = get_account(ocma, workspace_id, account_id, session)
        account.status = AccountStatus.DISCONNECTED
        account.access_token_enc = ""
        account.refresh_token_enc = None
        account.updated_at = utcnow()
        session.add(account)
        return account


def account_context(
    ocma: Ocma, account: Account, plain: tuple[str, str | None] | None = None
) -> AccountContext:
    """Decrypted tokens and settings for platform calls (`plain`: the tokens already decrypted)."""
    if account.status is AccountStatus.DISCONNECTED or not account.access_token_enc:
        raise ConfigError(f"Account {account.handle} is disconnected.", fix="Connect it again.")
    vault = ocma.vault
    if plain is None:
        refresh = vault.decrypt(account.refresh_token_enc) if account.refresh_token_enc else None
        plain = (vault.decrypt(account.access_token_enc), refresh)
    tokens = TokenSet(
        access_token=plain[0],
        refresh_token=plain[1],
        expires_at=account.expires_at,
        refresh_expires_at=account.refresh_expires_at,
        scopes=tuple(account.scopes),
        extra={},
    )
    return AccountContext(
        account_id=account.id,
        external_id=account.external_id,
        handle=account.handle,
        tokens=tokens,
        settings={**account.settings, "_token_version": account.token_version},
    )


async def test_connection(ocma: Ocma, workspace_id: str, account_id: str) -> Profile:
    """Call the platform's who-am-I with the stored tokens (refreshing once if they expired)."""
    from ocma_core.engine.refresh import call_with_refresh

    account = get_account(ocma, workspace_id, account_id)
    platform = get_platform(account.platform)
    try:
        return await call_with_refresh(ocma, account.id, platform, platform.get_profile)
    except PlatformError as exc:
        name = platform.display_name or platform.name
        raise unreachable(exc, name) or ConflictError(
            f"{name} refused the stored authorisation of {account.handle}: {exc.message}",
            fixes={
                "cli": f"Reconnect it: `ocma accounts connect {platform.name}`.",
                "api": f"Reconnect it: GET /v1/accounts/connect/{platform.name}.",
            },
        ) from None


def acquire_refresh_lease(ocma: Ocma, account_id: str, holder_seconds: float = 30.0) -> bool:
    """Take the account's refresh lease in one conditional update; False when someone else holds it."""
    now = utcnow()
    with ocma.session() as session:
        result = session.execute(
            update(Account)
            .where(
                col(Account.id) == account_id,
                or_(col(Account.refresh_lock_until).is_(None), col(Account.refresh_lock_until) < now),
            )
            .values(refresh_lock_until=now + timedelta(seconds=holder_seconds))
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def store_refreshed_tokens(ocma: Ocma, account_id: str, tokens: TokenSet) -> None:
    """Persist rotated tokens and release the lease in the same transaction."""
    with ocma.session() as session:
        account = session.get(Account, account_id)
        if account is None:
            raise NotFoundError(f"No account {account_id!r}.")
        _store_tokens(account, tokens, ocma.vault.encrypt)
        account.settings = {**account.settings, **tokens.extra}
        account.token_version += 1
        account.refresh_lock_until = None
        account.status = AccountStatus.CONNECTED
        account.last_error = None
        session.add(account)


def mark_needs_reconnect(ocma: Ocma, account_id: str, reason: str) -> None:
    """Flag an account whose authorisation cannot be refreshed and tell everyone."""
    with ocma.session() as session:
        account = session.get(Account, account_id)
        if account is None:
            return
        already = account.status is AccountStatus.NEEDS_RECONNECT
        account.status = AccountStatus.NEEDS_RECONNECT
        account.last_error = reason
        account.refresh_lock_until = None
        session.add(account)
        event = Event(
            "account.needs_reconnect",
            account.workspace_id,
            {
                "account_id": account.id,
                "platform": account.platform,
                "handle": account.handle,
                "reason": reason,
            },
        )
        if not already:
            record(session, event)
    if not already:
        dispatch(event, ocma)


def release_refresh_lease(ocma: Ocma, account_id: str) -> None:
    """Give the lease back without changing tokens."""
    with ocma.session() as session:
        session.execute(update(Account).where(col(Account.id) == account_id).values(refresh_lock_until=None))
