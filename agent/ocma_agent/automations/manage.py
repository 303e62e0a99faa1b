"""Add, list and remove a workspace's automation rules (stored in its `automations` setting)."""

from __future__ import annotations

from typing import Any

from ocma_agent.automations.rules import SETTING, Rule, rules_of
from ocma_core.app import Ocma, workspaces
from ocma_core.errors import NotFoundError


def list_rules(ocma: Ocma, workspace_id: str) -> list[Rule]:
    """The workspace's rules, in the order they were added."""
    return rules_of(workspaces.get_workspace(ocma, workspace_id).settings)


def _store(ocma: Ocma, workspace_id: str, rules: list[Rule]) -> None:
    value: list[dict[str, Any]] | None = [r.model_dump(mode="json") for r in rules] or None
    workspaces.change_workspace(ocma, workspace_id, settings={SETTING: value})


def add_rule(ocma: Ocma, workspace_id: str, rule: Rule) -> Rule:
    """Add the rule, or replace the one with the same id (checked like any workspace setting)."""
    rules = [r for r in list_rules(ocma, workspace_id) if r.id != rule.id]
    _store(ocma, workspace_id, [*rules, rule])
    return rule


def remove_rule(ocma: Ocma, workspace_id: str, rule_id: str) -> None:
    """Remove the rule with this id (NotFoundError naming the ids there are)."""
    rules = list_rules(ocma, workspace_id)
    kept = [r for r in rules if r.id != rule_id]
    if len(kept) == len(rules):
        there = ", ".join(r.id for r in rules) or "none"
        raise NotFoundError(
            f"No automation {rule_id!r} (there are: {there}).", fix="`ocma automations list`."
        )
    _store(ocma, workspace_id, kept)
