"""ocma workspaces: list, create, show and set (one option per registered workspace setting)."""

from __future__ import annotations

import json
import typing
from typing import Any

import click

from ocma_core.cli.common import (
    context,
    emit_record,
    examples,
    json_option,
    print_json,
    table,
    workspace_id,
    workspace_option,
)
from ocma_core.errors import ValidationFailed


@click.group()
def workspaces() -> None:
    """Workspaces (tenants): list, create, show and change their settings.

    \b
    Example:
      ocma workspaces set --approval-required --queue-slots '{"weekdays": ["mon"], "times": ["09:00"]}'
    """


@examples("ocma workspaces list", "ocma workspaces list --json")
@workspaces.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def workspaces_list(as_json: bool) -> None:
    """List workspaces.

    \b
    Example:
      ocma workspaces list --json
    """
    from ocma_core.services.workspaces import list_workspaces

    found = list_workspaces(context())
    if as_json:
        print_json([{"id": w.id, "name": w.name, "timezone": w.timezone} for w in found])
        return
    table(["id", "name", "timezone"], [[w.id, w.name, w.timezone] for w in found])


@examples('ocma workspaces create "Acme Berlin" --timezone Europe/Berlin')
@workspaces.command("create")
@click.argument("name")
@click.option("--timezone", default="UTC", show_default=True, help="IANA timezone, e.g. Europe/Berlin.")
def workspaces_create(name: str, timezone: str) -> None:
    """Create a workspace (then `ocma apikeys create -w NAME --role owner` for a key to it).

    \b
    Example:
      ocma workspaces create "Acme EMEA" --timezone Europe/Berlin
    """
    from ocma_core.services.workspaces import create_workspace

    workspace = create_workspace(context(), name, timezone=timezone)
    click.echo(f"Created workspace {workspace.name} ({workspace.id}).")


@examples("ocma workspaces show", 'ocma workspaces show -w "Acme EMEA"')
@workspaces.command("show")
@workspace_option
@json_option
def workspaces_show(workspace: str | None, as_json: bool) -> None:
    """Show a workspace's name, timezone and every settable setting (as JSON; null = not set).

    \b
    Example:
      ocma workspaces show -w "Acme EMEA"
    """
    from ocma_core.services.workspaces import describe_workspace, get_workspace

    ocma = context()
    found = describe_workspace(get_workspace(ocma, workspace_id(ocma, workspace)))
    emit_record(found, as_json=as_json, title=f"Workspace {found['name']}:")


def _kind(annotation: Any) -> type:
    """bool, str or dict (JSON): how the command line takes a setting of this type."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation if annotation in (bool, str) else dict


def _setting_options(known: dict[str, Any]) -> list[click.Option]:
    """One option per registered setting: a flag pair for yes/no, text, or JSON for the rest."""
    options = []
    for name, setting in known.items():
        flag = name.replace("_", "-")
        kind = _kind(setting.type)
        if kind is bool:
            decls = [f"--{flag}/--no-{flag}", f"setting__{name}"]
            options.append(click.Option(decls, default=None, help=setting.help))
            continue
        shown = setting.example if kind is str else json.dumps(setting.example)
        options.append(
            click.Option(
                [f"--{flag}", f"setting__{name}"],
                default=None,
                metavar="TEXT" if kind is str else "JSON",
                help=f"{setting.help} Example: {shown}",
            )
        )
    return options


class SettingsCommand(click.Command):
    """A command with one option per registered setting, built from the settings plugins registered."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fixed = list(self.params)
        self._built_for: object = None

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        """The fixed options plus one per registered setting (rebuilt when the registered set changes)."""
        from ocma_core.workspace_settings import registered_settings

        known = registered_settings()
        if known is not self._built_for:
            self.params = [*self._fixed, *_setting_options(known)]
            self._built_for = known
        return super().get_params(ctx)


def _parse(name: str, kind: type, raw: Any) -> Any:
    if kind is not dict:
        return raw
    flag = "--" + name.replace("_", "-")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        fix = f'Quote the JSON for the shell, e.g. {flag} \'{{"key": "value"}}\'.'
        raise ValidationFailed(
            f"{flag} is not JSON ({exc.msg} at character {exc.pos}).",
            problems=[{"field": name, "message": "not JSON", "fix": fix}],
            fix=fix,
        ) from None


@workspaces.command("set", cls=SettingsCommand)
@workspace_option
@click.option("--name", default=None, help="Rename the workspace.")
@click.option("--timezone", default=None, help="IANA timezone, e.g. Europe/Berlin.")
@click.option(
    "--unset", multiple=True, metavar="SETTING", help="Remove a setting (its default applies again)."
)
@json_option
def workspaces_set(
    workspace: str | None,
    name: str | None,
    timezone: str | None,
    unset: tuple[str, ...],
    as_json: bool,
    **values: Any,
) -> None:
    """Change a workspace's name, timezone or settings; each value is checked before anything changes.

    Settings are listed below (plugins add theirs). JSON values replace the stored value whole.

    \b
    Examples:
      ocma workspaces set --approval-required --brand-voice "Warm, plain words, no hype."
      ocma workspaces set --queue-slots '{"weekdays": ["mon", "wed"], "times": ["09:00"]}'
      ocma workspaces set --unset queue_slots
    """
    from ocma_core.services.workspaces import change_workspace, describe_workspace
    from ocma_core.workspace_settings import registered_settings

    known = registered_settings()
    changes: dict[str, Any] = {setting.replace("-", "_"): None for setting in unset}
    for key, raw in values.items():
        setting = key.removeprefix("setting__")
        if raw is not None and setting in known:
            changes[setting] = _parse(setting, _kind(known[setting].type), raw)
    if not changes and name is None and timezone is None:
        raise click.UsageError("Nothing to change: give a setting option (see --help).")
    ocma = context()
    ws = change_workspace(ocma, workspace_id(ocma, workspace), name=name, timezone=timezone, settings=changes)
    changed = describe_workspace(ws)
    emit_record(changed, as_json=as_json, title=f"Workspace {changed['name']} now:")
