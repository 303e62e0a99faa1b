"""`/v1/automations`: list (viewers), add or replace and remove (admins: `workspace:configure`) the rules that
make the agent draft posts from events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Response

from ocma_agent.automations.manage import add_rule, list_rules, remove_rule
from ocma_agent.automations.rules import RULE_ID, Rule
from ocma_core.app import Ocma
from ocma_core.app.web import Caller, errors, get_ocma, require
from ocma_core.permissions import Action

router = APIRouter(prefix="/v1/automations", tags=["automations"])
RULE = Path(pattern=RULE_ID, description="The rule's id.")


@router.get("")
def get_rules(
    caller: Caller = Depends(require(Action.WORKSPACE_READ)), ocma: Ocma = Depends(get_ocma)
) -> dict[str, Any]:
    """The workspace's automation rules."""
    return {"automations": [r.model_dump(mode="json") for r in list_rules(ocma, caller.workspace_id)]}


@router.post("", status_code=201, responses=errors(422))
def post_rule(
    rule: Rule, caller: Caller = Depends(require(Action.WORKSPACE_CONFIGURE)), ocma: Ocma = Depends(get_ocma)
) -> Rule:
    """Add a rule, or replace the one with the same id (admins)."""
    return add_rule(ocma, caller.workspace_id, rule)


@router.delete("/{rule_id}", status_code=204, responses=errors(404))
def delete_rule(
    rule_id: str = RULE,
    caller: Caller = Depends(require(Action.WORKSPACE_CONFIGURE)),
    ocma: Ocma = Depends(get_ocma),
) -> Response:
    """Remove a rule (admins)."""
    remove_rule(ocma, caller.workspace_id, rule_id)
    return Response(status_code=204)
