"""`/v1/automations`: list (viewers), add or replace and remove (admins: `workspace:configure`) the rules that
make the agent draft posts from events.

Optimistic concurrency: the list gives each rule's `etag` (and POST answers the new one in the ETag header).
Replacing a rule needs `If-Match: <etag>` of the version edited; a stale one is refused with 412, replacing
without one with 409, and nothing is written. DELETE takes If-Match too (optional).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Response

from ocma_agent.automations.manage import add_rule, etag, list_rules, remove_rule
from ocma_agent.automations.rules import RULE_ID, Rule
from ocma_core.app import Ocma
from ocma_core.app.web import Caller, errors, get_ocma, if_match_header, require
from ocma_core.permissions import Action

router = APIRouter(prefix="/v1/automations", tags=["automations"])
RULE = Path(pattern=RULE_ID, description="The rule's id.")
IF_MATCH = if_match_header(
    "The rule's etag as read (GET /v1/automations): the change applies only to that version."
)


@router.get("")
def get_rules(
    caller: Caller = Depends(require(Action.WORKSPACE_READ)), ocma: Ocma = Depends(get_ocma)
) -> dict[str, Any]:
    """The workspace's automation rules, and each one's etag (its version, for If-Match)."""
    rules = list_rules(ocma, caller.workspace_id)
    return {
        "automations": [r.model_dump(mode="json") for r in rules],
        "etags": {r.id: etag(r) for r in rules},
    }


@router.post("", status_code=201, responses=errors(409, 412, 422))
def post_rule(
    rule: Rule,
    response: Response,
    if_match: str | None = IF_MATCH,
    caller: Caller = Depends(require(Action.WORKSPACE_CONFIGURE)),
    ocma: Ocma = Depends(get_ocma),
) -> Rule:
    """Add a rule, or replace the one with the same id given its If-Match etag (admins)."""
    stored = add_rule(ocma, caller.workspace_id, rule, if_match=if_match, replace=False)
    response.headers["ETag"] = etag(stored)
    return stored


@router.delete("/{rule_id}", status_code=204, responses=errors(404, 412))
def delete_rule(
    rule_id: str = RULE,
    if_match: str | None = IF_MATCH,
    caller: Caller = Depends(require(Action.WORKSPACE_CONFIGURE)),
    ocma: Ocma = Depends(get_ocma),
) -> Response:
    """Remove a rule (admins); with If-Match, only the version read."""
    remove_rule(ocma, caller.workspace_id, rule_id, if_match=if_match)
    return Response(status_code=204)
