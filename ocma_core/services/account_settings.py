"""Settings a person changes on a connected account (the platform's `account_settings`, e.g. Pinterest's
default board): checked with the platform, then merged into the account's settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ocma_core.context import Ocma
from ocma_core.db.models import Account
from ocma_core.db.types import utcnow
from ocma_core.errors import (
    AuthExpired,
    ConflictError,
    OcmaError,
    PlatformError,
    ValidationFailed,
    unreachable,
)
from ocma_core.registry import get_platform
from ocma_core.services.accounts import get_account


def settings_view(account: Account) -> dict[str, Any]:
    """The account's changeable settings as its platform shows them ({} when it has none or is not installed)."""
    try:
        platform = get_platform(account.platform)
    except OcmaError:
        return {}
    return platform.account_settings_view(account.settings) if platform.account_settings else {}


async def update_account_settings(
    ocma: Ocma, workspace_id: str, account_id: str, values: Mapping[str, str]
) -> Account:
    """Check `values` with the account's platform (refreshing its token once if needed), then store them."""
    from ocma_core.engine.refresh import call_with_refresh

    account = get_account(ocma, workspace_id, account_id)
    platform = get_platform(account.platform)
    name = platform.display_name or platform.name
    allowed = dict(platform.account_settings)
    unknown = sorted(set(values) - set(allowed))
    if not values or unknown:
        listed = ", ".join(f"{k} ({v})" for k, v in allowed.items()) or "none"
        raise ValidationFailed(
            f"{name} accounts have no setting {', '.join(unknown)}." if unknown else "No setting was given.",
            [
                {"field": k, "code": "unknown_setting", "message": f"Not a {name} account setting."}
                for k in unknown
            ],
            fix=f"The settings a {name} account has: {listed}.",
        )
    try:
        stored = await call_with_refresh(
            ocma, account.id, platform, lambda ctx: platform.apply_account_settings(ctx, values)
        )
    except PlatformError as exc:
        if isinstance(exc, AuthExpired):
            raise ConflictError(
                f"{name} refused the stored authorisation of {account.handle}: {exc.message}",
                fix=f"Reconnect it: `ocma accounts connect {platform.name}`.",
            ) from None
        raise unreachable(exc, name) or ValidationFailed(
            f"{name} did not accept the settings: {exc.message}",
            [{"field": k, "code": "refused", "message": exc.message} for k in values],
        ) from None
    with ocma.session() as session:
        account = get_account(ocma, workspace_id, account_id, session)
        if str(account.status) == "disconnected":
            raise ConflictError(f"{account.handle} was disconnected meanwhile.", fix="Connect it again.")
        account.settings = {**account.settings, **stored}
        account.updated_at = utcnow()
        session.add(account)
        return account
