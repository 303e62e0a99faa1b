"""`ocma automations`: add, list and remove the rules that make the agent draft posts from events, and run
one round now. Only click is imported at module level (this group is added to every `ocma` invocation)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from ocma_core.app.cli import examples, json_option, workspace_option


def _run(work: Callable[[], Any]) -> Any:
    """Run `work`, printing an OcmaError (or a refused value) with its fix and exiting 1."""
    from pydantic import ValidationError

    from ocma_core.app.cli import report_error
    from ocma_core.errors import OcmaError, ValidationFailed

    try:
        return work()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        report_error(
            ValidationFailed(f"Invalid automation: {problems}.", fix="See `ocma automations add --help`.")
        )
    except OcmaError as exc:
        report_error(exc)
    sys.exit(1)


def _duration(text: str) -> int:
    """Seconds from `90`, `90s`, `15m`, `2h` or `1d`."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    raw = text.strip().lower()
    factor = units.get(raw[-1:], 0)
    number = raw[:-1] if factor else raw
    if not number.isdigit():
        raise click.BadParameter(f"{text!r} is not a duration; use e.g. 3600, 30m, 1h or 1d.")
    return int(number) * (factor or 1)


def _condition(text: str) -> tuple[str, str | int | bool]:
    """("livemode", True) from `livemode=true`: true/false are booleans, digits a whole number."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise click.BadParameter(f"{text!r} is not KEY=VALUE; e.g. --where livemode=true.")
    value = raw.strip()
    typed: str | int | bool = {"true": True, "false": False}.get(value.lower(), value)
    if isinstance(typed, str) and value.lstrip("-").isdigit():
        typed = int(value)
    return key.strip(), typed


@click.group("automations")
def automations() -> None:
    """Drafts from events: "when a plan is sold, draft a thank-you post", always held for approval."""


@examples(
    'ocma automations add --on stripe.subscription_created --instruction "Thank our new subscribers" '
    "--accounts ACCOUNT_ID --cooldown 1h --where livemode=true",
)
@automations.command("add")
@click.option("--id", "rule_id", default=None, help="The rule's name (default: from the event kind).")
@click.option(
    "--on", "kind", required=True, help="Event kind, e.g. stripe.subscription_created (docs/events.md)."
)
@click.option("--instruction", required=True, help="What the post should say. Never gets customer details.")
@click.option("--accounts", required=True, help="Comma-separated account ids (`ocma accounts list`).")
@click.option(
    "--cooldown", default="1h", show_default=True, help="At most one draft per this long (30m, 1h, 1d)."
)
@click.option(
    "--where",
    "where",
    multiple=True,
    help="Only events whose payload has KEY=VALUE (true/false and whole numbers typed), e.g. livemode=true.",
)
@click.option("--disabled", is_flag=True, help="Store the rule switched off.")
@workspace_option
@json_option
def automations_add(
    rule_id: str | None,
    kind: str,
    instruction: str,
    accounts: str,
    cooldown: str,
    where: tuple[str, ...],
    disabled: bool,
    workspace: str | None,
    as_json: bool,
) -> None:
    """Add a rule (or replace the rule with the same --id)."""
    from ocma_agent.automations.manage import add_rule
    from ocma_agent.automations.rules import Rule
    from ocma_core.app.cli import context, emit_record, workspace_id

    ocma = context()
    ws = workspace_id(ocma, workspace)

    def add() -> Rule:
        rule = Rule(
            id=rule_id or kind.replace(".", "-")[:40],
            on=kind,
            instruction=instruction,
            accounts=[a.strip() for a in accounts.split(",") if a.strip()],
            cooldown_s=_duration(cooldown),
            where=dict(_condition(item) for item in where),
            enabled=not disabled,
        )
        return add_rule(ocma, ws, rule)

    rule = _run(add)
    emit_record(rule.model_dump(mode="json"), as_json=as_json, title=f"Automation {rule.id} saved.")


@examples("ocma automations list", "ocma automations list --json")
@automations.command("list")
@workspace_option
@json_option
def automations_list(workspace: str | None, as_json: bool) -> None:
    """The workspace's rules."""
    from ocma_agent.automations.manage import list_rules
    from ocma_core.app.cli import Column, context, emit_list, workspace_id

    ocma = context()
    rules = _run(lambda: list_rules(ocma, workspace_id(ocma, workspace)))
    columns = [
        Column("ID", "id", "id"),
        Column("ON", "on", "id"),
        Column("COOLDOWN S", "cooldown_s"),
        Column("ENABLED", "enabled"),
        Column("INSTRUCTION", "instruction", "text", 60),
    ]
    rows = [r.model_dump(mode="json") for r in rules]
    emit_list(rows, columns, as_json=as_json, empty="No automations yet: `ocma automations add --help`.")


@examples("ocma automations remove thank-subscribers")
@automations.command("remove")
@click.argument("rule_id")
@workspace_option
def automations_remove(rule_id: str, workspace: str | None) -> None:
    """Remove a rule (its pending events are no longer drafted)."""
    from ocma_agent.automations.manage import remove_rule
    from ocma_core.app.cli import context, workspace_id

    ocma = context()
    _run(lambda: remove_rule(ocma, workspace_id(ocma, workspace), rule_id))
    click.echo(f"Automation {rule_id} removed.")


@examples("ocma automations run")
@automations.command("run")
@json_option
def automations_run(as_json: bool) -> None:
    """Run one round now, every workspace (the worker does this every few seconds)."""
    from dataclasses import asdict

    from ocma_agent.automations.runner import run_round
    from ocma_core.app.cli import Column, context, emit_list

    outcomes = [asdict(o) for o in _run(lambda: run_round(context()))]
    columns = [
        Column("RULE", "rule_id", "id"),
        Column("STATUS", "status"),
        Column("EVENTS", "events"),
        Column("POST", "post_id", "id"),
        Column("REASON", "reason", "text", 60),
    ]
    emit_list(outcomes, columns, as_json=as_json, empty="No enabled automations.")
