"""accounts: connect (OAuth or credentials), list, test, change settings, disconnect."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import click

from ocma_core.cli.common import (
    Column,
    context,
    emit_list,
    examples,
    json_option,
    workspace_id,
    workspace_option,
)

if TYPE_CHECKING:
    from ocma_core.platforms import Platform


@click.group()
def accounts() -> None:
    """Social accounts connected to a workspace."""


@examples("ocma accounts list", "ocma accounts list --json")
@accounts.command("list")
@workspace_option
@json_option
def accounts_list(workspace: str | None, as_json: bool) -> None:
    """Each account's status (connected / needs reconnecting / disconnected) and token expiry."""
    from ocma_core.services.accounts import list_accounts

    ocma = context()
    rows = [
        {
            "id": a.id,
            "platform": a.platform,
            "handle": a.handle,
            "status": a.status,
            "expires_at": a.expires_at,
            "last_error": a.last_error,
        }
        for a in list_accounts(ocma, workspace_id(ocma, workspace))
    ]
    emit_list(
        rows,
        [
            Column("id", "id", kind="id"),
            Column("platform", "platform"),
            Column("handle", "handle", kind="id"),
            Column("status", "status"),
            Column("token expires (UTC)", lambda r: r["expires_at"] or "never"),
            Column("problem", "last_error", kind="text"),
        ],
        as_json=as_json,
        empty="No accounts yet: connect one with `ocma accounts connect PLATFORM` (e.g. bluesky).",
    )


@examples(
    "ocma accounts connect bluesky",
    "ocma accounts connect mastodon --listen",
    "ocma accounts connect mastodon -f instance=https://mastodon.social -f access_token=TOKEN",
    "ocma accounts connect sandbox  # a practice account, no keys; -f name=launch for another",
)
@accounts.command("connect")
@click.argument("platform")
@workspace_option
@click.option("--listen", is_flag=True, help="Catch the OAuth callback on a local port (local setups).")
@click.option("--port", type=int, default=8765, show_default=True, help="Port for --listen.")
@click.option(
    "--timeout", type=float, default=300.0, show_default=True, help="Seconds --listen waits for the browser."
)
@click.option(
    "--field",
    "-f",
    multiple=True,
    help="Credential NAME=VALUE for app-password/token platforms (sandbox: -f name=NAME).",
)
@click.option(
    "--instance", default=None, help="The server to connect (Mastodon: e.g. https://mastodon.social)."
)
@click.option(
    "--page", default=None, help="The Page to connect, by id or name (Facebook: one account per Page)."
)
@click.option(
    "--board",
    default=None,
    help="The default board, by id or name (Pinterest; `ocma accounts set` changes it).",
)
def accounts_connect(
    platform: str,
    workspace: str | None,
    listen: bool,
    port: int,
    timeout: float,
    field: tuple[str, ...],
    instance: str | None,
    page: str | None,
    board: str | None,
) -> None:
    """Print the URL that connects PLATFORM (or connect with --field credentials)."""
    from ocma_core.platforms import AuthKind
    from ocma_core.registry import get_platform
    from ocma_core.services import accounts as svc

    ocma = context()
    ws = workspace_id(ocma, workspace)
    plat = get_platform(platform)
    if plat.auth_kind is not AuthKind.OAUTH2 or field:
        account = asyncio.run(svc.connect_with_credentials(ocma, ws, platform, _credentials(plat, field)))
        click.echo(f"Connected {account.platform} account {account.handle} ({account.id}).")
        return
    options = {k: v for k, v in (("instance", instance), ("page", page), ("board", board)) if v} or None
    if not listen:
        from ocma_core.services.oauth_browser import start_link

        link = start_link(ocma, ws, platform, params=options)
        click.echo("Open this link in your browser and approve access (it works once, in one browser):")
        click.echo(link)
        click.echo(
            f"The platform then sends you to {svc.callback_url(ocma, platform)} (ocma serve must be running)."
        )
        return
    from ocma_core.cli.oauth_listener import CallbackListener, ListenerError

    path = f"/oauth/callback/{platform}"
    try:
        with CallbackListener(port, path) as listener:  # listening before the link is shown
            url = svc.start_connect(
                ocma, ws, platform, redirect_uri=f"http://127.0.0.1:{port}{path}", params=options
            )
            click.echo("Open this URL in a browser and approve access:")
            click.echo(url)
            params = listener.wait(timeout)
    except ListenerError as exc:
        raise click.ClickException(str(exc)) from None
    account = asyncio.run(
        svc.complete_connect(
            ocma, platform, state=params.get("state", ""), code=params.get("code"), error=params.get("error")
        )
    )
    click.echo(f"Connected {account.platform} account {account.handle} ({account.id}).")


def _credentials(plat: Platform, field: tuple[str, ...]) -> dict[str, str]:
    """The --field values, with each missing credential field asked for (none for a platform that asks nothing)."""
    from ocma_core.platforms import AuthKind

    values = dict(f.split("=", 1) for f in field if "=" in f)
    asks = plat.auth_kind is not AuthKind.NONE  # nothing to ask: its options come only from --field
    for name, description in plat.credential_fields.items():
        if asks and name not in values:
            optional = name in plat.optional_credential_fields
            values[name] = click.prompt(
                f"{name} ({description})",
                hide_input="password" in name,
                default="" if optional else None,
                show_default=False,
            )
    return values


@examples("ocma accounts test ACCOUNT_ID")
@accounts.command("test")
@click.argument("account_id")
@workspace_option
def accounts_test(account_id: str, workspace: str | None) -> None:
    """Check ACCOUNT_ID's stored tokens with the platform's who-am-I call."""
    from ocma_core.services.accounts import test_connection

    ocma = context()
    profile = asyncio.run(test_connection(ocma, workspace_id(ocma, workspace), account_id))
    click.echo(f"OK: {profile.handle} ({profile.external_id})")


@examples(
    'ocma accounts set ACCOUNT_ID default_board="Spring recipes"',
    "ocma accounts set ACCOUNT_ID  # shows the settings and the choices",
)
@accounts.command("set")
@click.argument("account_id")
@click.argument("values", nargs=-1)
@workspace_option
@json_option
def accounts_set(account_id: str, values: tuple[str, ...], workspace: str | None, as_json: bool) -> None:
    """Change settings of ACCOUNT_ID (NAME=VALUE, e.g. Pinterest's default_board); none: show them."""
    import json

    from ocma_core.services.account_settings import settings_view, update_account_settings
    from ocma_core.services.accounts import get_account

    ocma = context()
    ws = workspace_id(ocma, workspace)
    bad = [v for v in values if "=" not in v]
    if bad:
        raise click.UsageError(f"Give each setting as NAME=VALUE (not {bad[0]!r}).")
    changes = dict(v.split("=", 1) for v in values)
    if changes:
        account = asyncio.run(update_account_settings(ocma, ws, account_id, changes))
    else:
        account = get_account(ocma, ws, account_id)
    view = settings_view(account)
    if as_json:
        click.echo(json.dumps(view, indent=2))
        return
    if not view:
        click.echo(f"{account.handle} ({account.platform}) has no settings to change.")
    for name, value in view.items():
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        click.echo(f"{name}: {shown if shown not in (None, '') else '(not set)'}")


@examples("ocma accounts disconnect ACCOUNT_ID")
@accounts.command("disconnect")
@click.argument("account_id")
@workspace_option
def accounts_disconnect(account_id: str, workspace: str | None) -> None:
    """Forget ACCOUNT_ID's tokens (its posts stay; reconnect with `ocma accounts connect`)."""
    from ocma_core.services.accounts import disconnect_account

    ocma = context()
    account = disconnect_account(ocma, workspace_id(ocma, workspace), account_id)
    click.echo(f"Disconnected {account.handle}.")
