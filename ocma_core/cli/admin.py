"""plugins, apikeys."""

from __future__ import annotations

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

ROLES = ["owner", "admin", "editor", "viewer"]


@examples("ocma plugins", "ocma plugins --json")
@click.group(invoke_without_command=True)
@json_option
@click.pass_context
def plugins(ctx: click.Context, as_json: bool) -> None:
    """Installed plugins: version, the OCMA versions each supports, hooks, what each registered, and errors
    (a plugin that does not support this OCMA version says so in its error). With OCMA_TRACE_PLUGINS=1 each
    hook call is listed too (on standard error)."""
    from ocma_core.plugins import get_host, plugin_listing

    if ctx.invoked_subcommand is not None:
        return
    emit_list(
        plugin_listing(),
        [
            Column("plugin", "name", kind="id"),
            Column("version", "version"),
            Column("core", lambda r: r.get("core_versions") or "any", kind="text"),
            Column("hooks", "hooks", kind="text"),
            Column(
                "registered",
                lambda r: "; ".join(f"{k}: {', '.join(v)}" for k, v in r["registered"].items()),
                kind="text",
            ),
            Column("error", "error", kind="text"),
        ],
        as_json=as_json,
        empty="No plugins loaded (check OCMA_LOAD_PLUGINS / OCMA_DISABLED_PLUGINS).",
    )
    trace = get_host().trace
    if trace:
        click.echo(f"\nHook calls ({len(trace)}, OCMA_TRACE_PLUGINS):", err=True)
        for line in trace:
            click.echo(f"  {line}", err=True)


@examples("ocma plugins install ocma-threads", "ocma plugins install -e plugins/platforms/discord")
@plugins.command("install")
@click.argument("packages", nargs=-1)
@click.option(
    "-e",
    "--editable",
    "editable",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Install the plugin in this source directory in editable mode (repeatable).",
)
@click.option("-U", "--upgrade", is_flag=True, help="Upgrade packages already installed.")
def plugins_install(packages: tuple[str, ...], editable: tuple[str, ...], upgrade: bool) -> None:
    """Install plugins into the environment OCMA runs in (with uv, or pip where uv is missing)."""
    from ocma_core.plugin_install import install_command, run

    if not packages and not editable:
        raise click.UsageError("Name a package, or give -e PATH.")
    cmd = install_command(packages, editable=editable, upgrade=upgrade)
    click.echo(f"Running: {' '.join(cmd)}", err=True)
    status = run(cmd)
    if status != 0:
        raise click.ClickException(f"Installing failed (exit status {status}).")
    click.echo("Installed. `ocma plugins` lists what loaded.")


@examples("ocma plugins uninstall ocma-threads")
@plugins.command("uninstall")
@click.argument("packages", nargs=-1, required=True)
def plugins_uninstall(packages: tuple[str, ...]) -> None:
    """Uninstall plugin distributions from the environment OCMA runs in."""
    from ocma_core.plugin_install import run, uninstall_command

    cmd = uninstall_command(packages)
    click.echo(f"Running: {' '.join(cmd)}", err=True)
    status = run(cmd)
    if status != 0:
        raise click.ClickException(f"Uninstalling failed (exit status {status}).")


@plugins.group("new")
def plugins_new() -> None:
    """Write a new plugin's skeleton: it works and passes its tests before you change anything."""


@examples(
    "ocma plugins new platform discord",
    'ocma plugins new platform discord --dir plugins/platforms/discord --display "Discord"',
)
@plugins_new.command("platform")
@click.argument("name")
@click.option("--dir", "folder", default=None, help="Where to write it (default: ./ocma-NAME).")
@click.option("--display", default=None, help="The platform's name as people write it (default: from NAME).")
@click.option("--api-base", default=None, help="The API's base URL (default: a placeholder).")
def plugins_new_platform(name: str, folder: str | None, display: str | None, api_base: str | None) -> None:
    """A platform plugin: pyproject, the Platform subclass, a fake API server and the conformance test."""
    from pathlib import Path

    from ocma_core.skeleton import new_platform

    target = Path(folder or f"ocma-{name.replace('_', '-')}")
    for path in new_platform(name, target, display=display, api_base=api_base):
        click.echo(f"  wrote {path}")
    click.echo(
        f"Next: `python -m pytest {target / 'tests'}` (it passes as written), then"
        f" `ocma plugins install -e {target}`; see docs/plugin-tutorial.md."
    )


@click.group()
def apikeys() -> None:
    """API keys (stored hashed; a new key is shown once)."""


@examples(
    'ocma apikeys create --name "CI deploys" --role editor',
    "ocma apikeys create --role viewer --name dashboard",
)
@apikeys.command("create")
@workspace_option
@click.option("--name", default="", help="What the key is for, so you know which to revoke later.")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default="editor",
    show_default=True,
    help="What the key may do: viewer reads, editor writes posts, admin manages, owner everything.",
)
def apikeys_create(workspace: str | None, name: str, role: str) -> None:
    """Create a key and print it once (the key alone on stdout, for scripts)."""
    from ocma_core.db.models import Role
    from ocma_core.services.workspaces import create_api_key

    ocma = context()
    created = create_api_key(ocma, workspace_id(ocma, workspace), name=name, role=Role(role))
    click.echo(created.key)
    click.echo(f"({role} key {created.record.key_id}; it is not shown again)", err=True)


@examples("ocma apikeys list", "ocma apikeys list --json")
@apikeys.command("list")
@workspace_option
@json_option
def apikeys_list(workspace: str | None, as_json: bool) -> None:
    """List keys (ids and roles, never the keys)."""
    from ocma_core.services.workspaces import list_api_keys

    ocma = context()
    rows = [
        {
            "key_id": k.key_id,
            "name": k.name,
            "role": k.role,
            "created_at": k.created_at,
            "last_used_at": k.last_used_at,
            "revoked_at": k.revoked_at,
        }
        for k in list_api_keys(ocma, workspace_id(ocma, workspace))
    ]
    emit_list(
        rows,
        [
            Column("key id", "key_id", kind="id"),
            Column("name", "name", kind="text"),
            Column("role", "role"),
            Column("created (UTC)", "created_at"),
            Column("last used (UTC)", "last_used_at"),
            Column("revoked (UTC)", "revoked_at"),
        ],
        as_json=as_json,
        empty="No API keys yet: create one with `ocma apikeys create`.",
    )


@examples("ocma apikeys revoke KEY_ID")
@apikeys.command("revoke")
@workspace_option
@click.argument("key_id")
def apikeys_revoke(workspace: str | None, key_id: str) -> None:
    """Revoke the key KEY_ID (see `ocma apikeys list`)."""
    from ocma_core.services.workspaces import revoke_api_key

    ocma = context()
    revoke_api_key(ocma, workspace_id(ocma, workspace), key_id)
    click.echo(f"Revoked {key_id}.")
