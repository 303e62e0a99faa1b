"""An automation's draft is announced as an approval card (Approve / Edit / Reject noted in the rule's
thread); a failed automation says why and how to fix it."""

from __future__ import annotations

import json
from typing import Any

from ocma_slack.cards import APPROVE
from ocma_slack.notify import automation_drafted_message, message_for

from ocma_core.context import Ocma
from ocma_core.db.models import PostStatus
from ocma_core.services import calendar, posts
from ocma_core.services.post_input import PostInput


def test_an_automations_draft_is_an_approval_card(ocma: Ocma, workspace_id: str, account_id: str) -> None:
    draft = posts.create_post(
        ocma,
        workspace_id,
        PostInput(body="Welcome, new subscribers!", account_ids=[account_id], action="draft"),
    )
    held = calendar.publish_existing(ocma, workspace_id, draft.id, require_approval=True)
    assert held.status is PostStatus.PENDING_APPROVAL
    payload = {"rule_id": "thanks", "on": "stripe.subscription_created", "post_id": held.id, "events": 5}
    text, blocks = automation_drafted_message(ocma, workspace_id, payload)
    assert "Automation thanks drafted a post from 5 `stripe.subscription_created` event(s)" in text
    assert "Welcome, new subscribers!" in str(blocks)
    [buttons] = [b for b in blocks if b.get("type") == "actions"]
    approve = next(e for e in buttons["elements"] if e["action_id"] == APPROVE)
    assert json.loads(approve["value"]) == {"p": held.id, "t": "automation:thanks"}


def test_a_failed_automation_says_why_and_the_fix() -> None:
    payload = {"rule_id": "thanks", "reason": "No AI model is configured.", "fix": "Set OCMA_MODEL."}
    ocma: Any = None  # the notice needs no database
    built = message_for(ocma, "automation.failed", payload)
    assert built is not None
    assert "Automation thanks could not draft a post: No AI model is configured." in built[0]
    assert "Set OCMA_MODEL." in str(built[1])
