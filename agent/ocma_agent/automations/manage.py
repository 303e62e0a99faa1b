"""Add, list and remove a workspace's automation rules (stored in its `automations` setting).

Each change is a read-modify-write of the whole list under the workspace's lock (`change_setting`), so two
changes at once never drop each other's rules. Each rule has a version (`etag`): a change sent with the
version it was made against (HTTP If-Match) is refused when the rule changed since, so nobody's edit is
overwritten unseen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ocma_agent.automations.rules import SETTING, Rule, rules_of
from ocma_core import if_match_matches, json_etag
from ocma_core.app import Ocma, workspaces
from ocma_core.errors import ConflictError, NotFoundError, PreconditionFailed

REREAD = (
    "GET /v1/automations for the current rule and its etag, redo your change on it and send it with If-Match."
)


def etag(rule: Rule) -> str:
    """The rule's version as an HTTP entity tag: a hash of what is stored, new with every change."""
    return json_etag(rule.model_dump(mode="json"))


def list_rules(ocma: Ocma, workspace_id: str) -> list[Rule]:
    """The workspace's rules, in the order they were added."""
    return rules_of(workspaces.get_workspace(ocma, workspace_id).settings)


def _update(ocma: Ocma, workspace_id: str, change: Callable[[list[Rule]], list[Rule]]) -> None:
    def apply(stored: Any) -> list[dict[str, Any]] | None:
        return [r.model_dump(mode="json") for r in change(rules_of({SETTING: stored}))] or None

    workspaces.change_setting(ocma, workspace_id, SETTING, apply)


def check_version(rule_id: str, current: Rule | None, if_match: str | None, *, replace: bool) -> None:
    """Refuse a change made against another version of the rule: PreconditionFailed for a stale If-Match,
    ConflictError for replacing an existing rule without one (unless `replace`, the console's own choice)."""
    if if_match is not None:
        if current is None:
            raise PreconditionFailed(
                f"The automation {rule_id!r} no longer exists (it was removed); nothing was changed.",
                fix="List the automations to see the current ones; to add it again, add it as a new rule.",
                fixes={"api": "GET /v1/automations; to add it again, send it without If-Match."},
            )
        if not if_match_matches(etag(current), if_match):
            raise PreconditionFailed(
                f"The automation {rule_id!r} was changed since you read it (its etag is now {etag(current)}, "
                f"not {if_match}); nothing was changed.",
                fix="Read the rule again, redo your change on it and save it.",
                fixes={"api": REREAD},
            )
    elif current is not None and not replace:
        raise ConflictError(
            f"An automation {rule_id!r} exists already; replacing it needs the version you edited, so nobody's "
            "change is overwritten unseen. Nothing was changed.",
            fix=f"Send If-Match: {etag(current)} (its current etag) to replace it, or choose another id.",
        )


def add_rule(
    ocma: Ocma, workspace_id: str, rule: Rule, *, if_match: str | None = None, replace: bool = True
) -> Rule:
    """Add the rule, or replace the one with the same id (checked like any workspace setting); see
    `check_version` for `if_match` and `replace`."""

    def change(rules: list[Rule]) -> list[Rule]:
        current = next((r for r in rules if r.id == rule.id), None)
        check_version(rule.id, current, if_match, replace=replace)
        return [*(r for r in rules if r.id != rule.id), rule]

    _update(ocma, workspace_id, change)
    return rule


def remove_rule(ocma: Ocma, workspace_id: str, rule_id: str, *, if_match: str | None = None) -> None:
    """Remove the rule with this id (NotFoundError naming the ids there are; PreconditionFailed when
    `if_match` is not its version)."""

    def change(rules: list[Rule]) -> list[Rule]:
        current = next((r for r in rules if r.id == rule_id), None)
        if current is None:
            there = ", ".join(r.id for r in rules) or "none"
            raise NotFoundError(
                f"No automation {rule_id!r} (there are: {there}).", fix="`ocma automations list`."
            )
        check_version(rule_id, current, if_match, replace=True)
        return [r for r in rules if r.id != rule_id]

    _update(ocma, workspace_id, change)
