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


def test_the_sale_and_the_draft_reach_the_channel(
    web: Any,
    slack: Any,
    ocma: Ocma,
    workspace_id: str,
    account_id: str,
    members: dict[str, str],
    model: Any,
    plugin_host: Any,
    monkeypatch: Any,
) -> None:
    """A signed Stripe event through the real route: Slack hears of the sale, then of the draft to approve."""
    import hashlib
    import hmac
    import time

    import ocma_agent.plugin
    import ocma_stripe
    from ocma_agent.automations.manage import add_rule
    from ocma_agent.automations.rules import Rule
    from ocma_agent.automations.runner import run_round

    from ocma_core.plugin_registry import clear_caches

    plugin_host.register(ocma_agent.plugin, name="agent")
    plugin_host.register(ocma_stripe, name="stripe")
    clear_caches()
    secret = "whsec_slack_automation_test"
    monkeypatch.setenv("OCMA_STRIPE_WEBHOOK_SECRET", secret)
    monkeypatch.setenv("OCMA_STRIPE_WORKSPACE", workspace_id)
    rule = Rule(
        id="thanks",
        on="stripe.subscription_created",
        instruction="Thank new subscribers",
        accounts=[account_id],
    )
    add_rule(ocma, workspace_id, rule)
    event = {
        "id": "evt_slack_1",
        "type": "customer.subscription.created",
        "created": int(time.time()),
        "livemode": True,
        "data": {"object": {"id": "sub_1", "customer": "cus_1", "status": "active", "currency": "eur"}},
    }
    body = json.dumps(event).encode()
    t = int(time.time())
    signature = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    answer = web.post("/webhooks/stripe", content=body, headers={"Stripe-Signature": f"t={t},v1={signature}"})
    assert answer.status_code == 200 and answer.json()["recorded"] is True
    model.script("Welcome aboard, new subscribers!")
    assert [o.status for o in run_round(ocma)] == ["drafted"]

    posted = slack.wait_for("chat.postMessage", count=2)
    texts = [str(p.get("text")) for p in posted]
    assert texts[0] == "New subscription"
    assert "Automation thanks drafted a post from 1 `stripe.subscription_created` event(s)" in texts[1]
    assert "Welcome aboard, new subscribers!" in str(posted[1].get("blocks")) and APPROVE in str(posted[1])

    # An admin presses Approve on the card: the draft is scheduled, noted in the rule's agent thread.
    from slack_payloads import SECRET, block_action, interactive

    blocks = posted[1]["blocks"] if isinstance(posted[1]["blocks"], list) else json.loads(posted[1]["blocks"])
    [post_id] = [d.id for d in posts.list_posts(ocma, workspace_id) if d.created_by == "automation:thanks"]
    value = json.dumps({"p": post_id, "t": "automation:thanks"})
    message = {"type": "message", "ts": "1700000000.000300", "text": texts[1], "blocks": blocks}
    payload = block_action(members["admin"], APPROVE, value, "C0NOTIFY", message)
    assert interactive(web, payload, SECRET).status_code == 200
    deadline = time.monotonic() + 60
    while posts.get_post(ocma, workspace_id, post_id).status is PostStatus.PENDING_APPROVAL:
        assert time.monotonic() < deadline, "the approval was not applied"
        time.sleep(0.05)
    assert posts.get_post(ocma, workspace_id, post_id).status is PostStatus.SCHEDULED
    clear_caches()
