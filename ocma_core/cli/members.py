"""ocma members: list, add, set-role, link (Slack and other external ids), remove."""

from __future__ import annotations

from typing import Any

import click

from ocma_core.cli.common import context, examples, print_json, table, workspace_id, workspace_option
from ocma_core.errors import ValidationFailed

ROLES = click.Choice(["owner", "admin", "editor", "viewer"])
SLACK_HELP = "Slack member id (profile → ⋮ → Copy member ID), so this person can use the Slack app."
EXTERNAL_HELP = "Another system's id as KIND=ID (repeatable), e.g. --external github=ana."


def _external(slack: str | None, pairs: tuple[str, ...]) -> dict[str, str]:
    ids: dict[str, str] = {}
    for pair in pairs:
        kind, sep, value = pair.partition("=")
        if not sep or not kind:
            fix = "Write it as KIND=ID, e.g. --external github=ana."
            raise ValidationFailed(
                f"--external {pair!r} is not KIND=ID.",
                problems=[{"field": "external_ids", "message": "not KIND=ID", "fix": fix}],
                fix=fix,
            )
        ids[kind.strip()] = value.strip()
    if slack is not None:
        ids["slack"] = slack.strip()
    return ids


def _row(member: Any) -> dict[str, Any]:
    return {
        "id": member.id,
        "email": member.email,
        "name": member.name,
        "role": member.role.value,
        "external_ids": dict(member.external_ids or {}),
        "created_at": member.created_at.isoformat(),
    }


@click.group()
def members() -> None:
    """People in a workspace, their roles (owner, admin, editor, viewer) and their Slack ids.

    \b
    Example:
      ocma members add ana@example.com --role editor --slack U0123ABC
    """


@examples("ocma members list", "ocma members list --json")
@members.command("list")
@workspace_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def members_list(workspace: str | None, as_json: bool) -> None:
    """List members with their role and linked ids.

    \b
    Example:
      ocma members list --json
    """
    from ocma_core.services.members import list_members

    ocma = context()
    rows = [_row(m) for m in list_members(ocma, workspace_id(ocma, workspace))]
    if as_json:
        print_json(rows)
        return
    table(
        ["id", "email", "name", "role", "linked"],
        [
            [
                r["id"],
                r["email"] or "",
                r["name"],
                r["role"],
                ", ".join(f"{k}: {v}" for k, v in r["external_ids"].items()),
            ]
            for r in rows
        ],
    )


@members.command("add")
@workspace_option
@click.argument("email", required=False)
@click.option("--name", default="", help="The person's name.")
@click.option("--role", type=ROLES, default="editor", show_default=True, help="What they may do.")
@click.option("--slack", default=None, metavar="UID", help=SLACK_HELP)
@click.option("--external", multiple=True, metavar="KIND=ID", help=EXTERNAL_HELP)
def members_add(
    workspace: str | None,
    email: str | None,
    name: str,
    role: str,
    slack: str | None,
    external: tuple[str, ...],
) -> None:
    """Add a member by email, by Slack id, or both.

    \b
    Examples:
      ocma members add ana@example.com --name "Ana" --role admin
      ocma members add --slack U0123ABC --role editor
    """
    from ocma_core.db.models import Role
    from ocma_core.services.members import add_member

    ocma = context()
    member = add_member(
        ocma,
        workspace_id(ocma, workspace),
        email=email,
        name=name,
        role=Role(role),
        external_ids=_external(slack, external),
    )
    slack_id = member.external_ids.get("slack")
    who = member.email or member.name or f"Slack user {slack_id}"
    click.echo(f"Added {who} as {member.role.value} (member id {member.id}).")
    if member.external_ids.get("slack"):
        click.echo(f"Slack user {member.external_ids['slack']} can now talk to the OCMA app.")


@examples("ocma members set-role ana@example.com admin", "ocma members set-role U0123ABCD viewer")
@members.command("set-role")
@workspace_option
@click.argument("member")
@click.argument("role", type=ROLES)
def members_set_role(workspace: str | None, member: str, role: str) -> None:
    """Change a member's role; MEMBER is their id, email or Slack id. The only owner stays owner.

    \b
    Example:
      ocma members set-role ana@example.com admin
    """
    from ocma_core.db.models import Role
    from ocma_core.services.members import update_member

    ocma = context()
    updated = update_member(ocma, workspace_id(ocma, workspace), member, role=Role(role))
    click.echo(f"{updated.email or updated.id} is now {updated.role.value}.")


@members.command("link")
@workspace_option
@click.argument("member")
@click.option("--slack", default=None, metavar="UID", help=SLACK_HELP + " An empty value unlinks.")
@click.option("--external", multiple=True, metavar="KIND=ID", help=EXTERNAL_HELP + " KIND= unlinks.")
def members_link(workspace: str | None, member: str, slack: str | None, external: tuple[str, ...]) -> None:
    """Link a member to their Slack user (or another system's id), or unlink it.

    \b
    Examples:
      ocma members link ana@example.com --slack U0123ABC
      ocma members link ana@example.com --slack ''
    """
    from ocma_core.services.members import update_member

    ids = _external(slack, external)
    if not ids:
        raise click.UsageError("Nothing to link: give --slack UID or --external KIND=ID.")
    ocma = context()
    updated = update_member(ocma, workspace_id(ocma, workspace), member, external_ids=ids)
    linked = ", ".join(f"{k}: {v}" for k, v in updated.external_ids.items()) or "nothing"
    click.echo(f"{updated.email or updated.id} is linked to {linked}.")


@examples("ocma members remove ana@example.com", "ocma members remove U0123ABCD --yes")
@members.command("remove")
@workspace_option
@click.argument("member")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def members_remove(workspace: str | None, member: str, yes: bool) -> None:
    """Remove a member (never the only owner); MEMBER is their id, email or Slack id.

    \b
    Example:
      ocma members remove ana@example.com --yes
    """
    from ocma_core.services.members import remove_member

    if not yes:
        click.confirm(f"Remove {member} from the workspace?", abort=True)
    ocma = context()
    removed = remove_member(ocma, workspace_id(ocma, workspace), member)
    click.echo(f"Removed {removed.email or removed.id} ({removed.role.value}).")
