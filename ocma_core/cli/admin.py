"""plugins, apikeys."""

from __future__ import annotations

import click

from ocma_core.cli.common import context, print_json, table, workspace_id, workspace_option


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins(as_json: bool) -> None:
    """Installed plugins: version, hooks, what each registered, and load errors."""
    from ocma_core.plugins import plugin_listing

    rows = plugin_listing()
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("No plugins loaded (check OCMA_LOAD_PLUGINS / OCMA_DISABLED_PLUGINS).")
        return
    table(
        ["plugin", "version", "hooks", "registered", "error"],
        [
            [
                r["name"],
                r["version"],
                ", ".join(r["hooks"]),
                "; ".join(f"{k}: {', '.join(v)}" for k, v in r["registered"].items()),
                r["error"],
            ]
            for r in rows
        ],
    )


@click.group()
def apikeys() -> None:
    """API keys (stored hashed; a new key is shown once)."""


@apikeys.command("create")
@workspace_option
@click.option("--name", default="")
@click.option(
    "--role", type=click.Choice(["owner", "admin", "editor", "viewer"]), default="editor", show_default=True
)
def apikeys_create(workspace: str | None, name: str, role: str) -> None:
    """Create a key and print it once."""
    from ocma_core.db.models import Role
    from ocma_core.services.workspaces import create_api_key

    ocma = context()
    created = create_api_key(ocma, workspace_id(ocma, workspace), name=name, role=Role(role))
    click.echo(created.key)
    click.echo(f"({role} key {created.record.key_id}; it is not shown again)", err=True)


@apikeys.command("list")
@workspace_option
def apikeys_list(workspace: str | None) -> None:
    """List keys (ids and roles, never the keys)."""
    from ocma_core.services.workspaces import list_api_keys

    ocma = context()
    table(
        ["key id", "name", "role", "created", "last used", "revoked"],
        [
            [k.key_id, k.name, k.role, k.created_at, k.last_used_at, k.revoked_at]
            for k in list_api_keys(ocma, workspace_id(ocma, workspace))
        ],
    )


@apikeys.command("revoke")
@workspace_option
@click.argument("key_id")
def apikeys_revoke(workspace: str | None, key_id: str) -> None:
    """Revoke a key by its id."""
    from ocma_core.services.workspaces import revoke_api_key

    ocma = context()
    revoke_api_key(ocma, workspace_id(ocma, workspace), key_id)
    click.echo(f"Revoked {key_id}.")
