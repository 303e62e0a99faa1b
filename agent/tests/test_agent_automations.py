"""Automations: a signed Stripe event through the real route becomes an OCMA event, a rule turns it into a draft
written by the (scripted) model and held for approval; no customer detail reaches the model; a replay makes
no second draft, a burst within the cooldown makes one; rules are an admin's to set."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from agent_model import ScriptedModel
from fastapi.testclient import TestClient

from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.db.models import PostStatus, Role, TargetStatus
from ocma_core.plugin_registry import clear_caches
from ocma_core.plugins import PluginHost
from ocma_core.services import posts
from ocma_core.services.once import release_once
from ocma_core.services.workspaces import create_api_key

SECRET = "whsec_test_automations_0123456789"
# What Stripe sends about a customer; none of it may reach the model.
PERSONAL = ["cus_SECRET42", "jane.doe@example.com", "Jane Doe", "4999", "49.99", "price_gold", "sub_auto_"]
THANKS = "A warm welcome to everyone who joined us this week. Thank you!"


def stripe_event(n: int) -> dict[str, Any]:
    """A customer.subscription.created event as Stripe sends it (with personal details in the object)."""
    return {
        "id": f"evt_auto_{n}",
        "object": "event",
        "type": "customer.subscription.created",
        "created": int(time.time()),
        "livemode": False,
        "data": {
            "object": {
                "id": f"sub_auto_{n}",
                "object": "subscription",
                "customer": "cus_SECRET42",
                "customer_email": "jane.doe@example.com",
                "customer_name": "Jane Doe",
                "status": "active",
                "currency": "eur",
                "items": {"data": [{"price": {"id": "price_gold", "unit_amount": 4999, "currency": "eur"}}]},
            }
        },
    }


def send(client: TestClient, event: dict[str, Any]) -> dict[str, Any]:
    """POST the event to /webhooks/stripe signed as Stripe signs (t=, v1= HMAC-SHA256 of "t.body")."""
    body = json.dumps(event).encode()
    t = int(time.time())
    signature = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    answer = client.post(
        "/webhooks/stripe",
        content=body,
        headers={"Stripe-Signature": f"t={t},v1={signature}", "Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def key(ocma: Ocma, workspace_id: str, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=role).key}"}


@pytest.fixture
def client(
    ocma: Ocma,
    workspace_id: str,
    account_id: str,
    model: ScriptedModel,
    plugin_host: PluginHost,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[TestClient]:
    """The API with the agent and ocma-stripe loaded, Stripe events going to the test's workspace."""
    import ocma_agent.plugin
    import ocma_stripe

    plugin_host.register(ocma_agent.plugin, name="agent")
    plugin_host.register(ocma_stripe, name="stripe")
    clear_caches()
    monkeypatch.setenv("OCMA_STRIPE_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("OCMA_STRIPE_WORKSPACE", workspace_id)
    with TestClient(create_app(ocma, run_worker=False)) as test_client:
        yield test_client
    clear_caches()


def add_rule(
    client: TestClient,
    ocma: Ocma,
    workspace_id: str,
    account_id: str,
    cooldown_s: int,
    where: dict[str, Any] | None = None,
) -> None:
    rule: dict[str, Any] = {
        "id": "thank-subscribers",
        "on": "stripe.subscription_created",
        "instruction": "Thank our new subscribers for joining, as a group.",
        "accounts": [account_id],
        "cooldown_s": cooldown_s,
        "where": where or {},
    }
    answer = client.post("/v1/automations", json=rule, headers=key(ocma, workspace_id, Role.ADMIN))
    assert answer.status_code == 201, answer.text


def drafts(ocma: Ocma, workspace_id: str) -> list[Any]:
    return [p for p in posts.list_posts(ocma, workspace_id) if p.created_by == "automation:thank-subscribers"]


def kinds_logged(ocma: Ocma, workspace_id: str) -> list[str]:
    from ocma_core.app import events

    return [e.kind for e in events.read(ocma, workspace_id, 0, limit=1000)]


def round_now(ocma: Ocma) -> list[Any]:
    from ocma_agent.automations.runner import run_round

    return run_round(ocma)


def test_a_sale_becomes_one_held_draft_without_personal_data(
    client: TestClient, ocma: Ocma, workspace_id: str, account_id: str, model: ScriptedModel, fake: Any
) -> None:
    add_rule(client, ocma, workspace_id, account_id, cooldown_s=0)
    assert send(client, stripe_event(1))["recorded"] is True
    model.script(THANKS)
    [outcome] = round_now(ocma)
    assert (outcome.status, outcome.events) == ("drafted", 1)

    [draft] = drafts(ocma, workspace_id)
    assert draft.id == outcome.post_id and draft.body == THANKS
    assert draft.status is PostStatus.PENDING_APPROVAL
    assert all(t.status is TargetStatus.DRAFT for t in posts.targets_of(ocma, draft.id))
    logged = kinds_logged(ocma, workspace_id)
    assert logged.index("stripe.subscription_created") < logged.index("post.approval_requested")
    assert logged.index("post.approval_requested") < logged.index("automation.drafted")

    [body] = model.chat_bodies()
    sent = json.dumps(body["messages"])
    assert "1 event(s) of kind stripe.subscription_created" in sent
    assert "Thank our new subscribers" in sent
    assert [word for word in PERSONAL if word in sent] == []

    # Stripe delivers the same event again, and rounds go on: no second draft, no second model call.
    assert send(client, stripe_event(1))["duplicate"] is True
    assert [o.status for o in round_now(ocma)] == ["idle"]
    assert [o.status for o in round_now(ocma)] == ["idle"]
    assert len(drafts(ocma, workspace_id)) == 1 and len(model.chat_bodies()) == 1
    assert fake.published_texts() == []  # nothing reached the platform without a person's approval


def test_a_burst_within_the_cooldown_is_one_draft_then_the_rest_in_the_next(
    client: TestClient, ocma: Ocma, workspace_id: str, account_id: str, model: ScriptedModel
) -> None:
    add_rule(client, ocma, workspace_id, account_id, cooldown_s=3600)
    for n in range(5):
        send(client, stripe_event(10 + n))
    model.script(THANKS, "Three more of you joined. Welcome!")
    assert [(o.status, o.events) for o in round_now(ocma)] == [("drafted", 5)]
    for n in range(3):  # still inside the hour: counted, not drafted
        send(client, stripe_event(20 + n))
    assert [(o.status, o.events) for o in round_now(ocma)] == [("waiting", 3)]
    assert len(drafts(ocma, workspace_id)) == 1 and len(model.chat_bodies()) == 1
    assert "5 event(s)" in json.dumps(model.chat_bodies()[0]["messages"])

    release_once(ocma, f"automation:{workspace_id}:thank-subscribers:cooldown")  # the hour has passed
    [waiting] = round_now(ocma)  # but nobody has decided on the first draft yet: no second one beside it
    assert (waiting.status, waiting.events, waiting.post_id) == (
        "waiting",
        3,
        drafts(ocma, workspace_id)[0].id,
    )
    posts.cancel_post(ocma, workspace_id, waiting.post_id or "")  # declined
    assert [(o.status, o.events) for o in round_now(ocma)] == [("drafted", 3)]
    assert len(drafts(ocma, workspace_id)) == 2
    assert "3 event(s)" in json.dumps(model.chat_bodies()[1]["messages"])


def test_test_mode_events_are_left_out_and_500_live_sales_are_one_draft(
    client: TestClient, ocma: Ocma, workspace_id: str, account_id: str, model: ScriptedModel
) -> None:
    from ocma_core.app.events import Event, record

    add_rule(client, ocma, workspace_id, account_id, cooldown_s=3600, where={"livemode": True})
    send(client, stripe_event(50))  # Stripe test mode
    assert [o.status for o in round_now(ocma)] == ["idle"] and model.chat_bodies() == []
    with ocma.session() as session:  # a launch: 500 live subscriptions before the next round
        for n in range(500):
            payload = {
                "stripe_event_id": f"evt_live_{n}",
                "customer": f"cus_{n}",
                "amount": 4999,
                "livemode": True,
            }
            record(session, Event("stripe.subscription_created", workspace_id, payload))
    model.script(THANKS)
    assert [(o.status, o.events) for o in round_now(ocma)] == [("drafted", 500)]
    assert len(drafts(ocma, workspace_id)) == 1
    sent = json.dumps(model.chat_bodies()[0]["messages"])
    assert "500 event(s)" in sent and "cus_" not in sent and "4999" not in sent


def test_only_admins_set_rules_and_bad_rules_say_how_to_fix_them(
    client: TestClient, ocma: Ocma, workspace_id: str, account_id: str
) -> None:
    rule = {
        "id": "t",
        "on": "stripe.subscription_created",
        "instruction": "Thank them",
        "accounts": [account_id],
    }
    editor = client.post("/v1/automations", json=rule, headers=key(ocma, workspace_id, Role.EDITOR))
    assert editor.status_code == 403
    typo = {**rule, "on": "stripe.subscription_create"}
    refused = client.post("/v1/automations", json=typo, headers=key(ocma, workspace_id, Role.ADMIN))
    assert refused.status_code == 422 and "stripe.subscription_created" in refused.text
    loop = {**rule, "on": "automation.drafted"}
    refused = client.post("/v1/automations", json=loop, headers=key(ocma, workspace_id, Role.ADMIN))
    assert refused.status_code == 422 and "own drafts" in refused.text
    viewer = key(ocma, workspace_id, Role.VIEWER)
    assert client.get("/v1/automations", headers=viewer).json() == {"automations": [], "etags": {}}
    assert client.delete("/v1/automations/t", headers=key(ocma, workspace_id, Role.EDITOR)).status_code == 403


def test_without_a_model_the_events_wait_and_the_failure_is_reported(
    client: TestClient,
    ocma: Ocma,
    workspace_id: str,
    account_id: str,
    model: ScriptedModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add_rule(client, ocma, workspace_id, account_id, cooldown_s=3600)
    send(client, stripe_event(30))
    with monkeypatch.context() as no_model:
        no_model.delenv("OCMA_MODEL")
        [outcome] = round_now(ocma)
    assert outcome.status == "failed" and drafts(ocma, workspace_id) == []
    assert "automation.failed" in kinds_logged(ocma, workspace_id)
    assert [o.status for o in round_now(ocma)] == ["waiting"]  # retried after RETRY_S, not every round
    release_once(ocma, f"automation:{workspace_id}:thank-subscribers:attempt")  # RETRY_S has passed
    with monkeypatch.context() as no_model:
        no_model.delenv("OCMA_MODEL")
        assert [o.status for o in round_now(ocma)] == ["failed"]
    assert kinds_logged(ocma, workspace_id).count("automation.failed") == 1  # the same failure: one notice
    release_once(ocma, f"automation:{workspace_id}:thank-subscribers:attempt")
    model.script(THANKS)  # the model is back: the waiting event is drafted
    assert [(o.status, o.events) for o in round_now(ocma)] == [("drafted", 1)]


def test_the_worker_drafts_in_its_rounds_and_publishes_only_once_approved(
    client: TestClient, ocma: Ocma, workspace_id: str, account_id: str, model: ScriptedModel, fake: Any
) -> None:
    from tests_support import run_worker

    add_rule(client, ocma, workspace_id, account_id, cooldown_s=3600)
    send(client, stripe_event(40))
    model.script(THANKS)
    run_worker(ocma, lambda: bool(drafts(ocma, workspace_id)), timeout=60)  # the inline automations round
    [draft] = drafts(ocma, workspace_id)
    assert draft.status is PostStatus.PENDING_APPROVAL and fake.published_texts() == []

    admin = key(ocma, workspace_id, Role.ADMIN)
    assert client.post(f"/v1/posts/{draft.id}/approve", headers=admin).status_code == 200
    run_worker(ocma, lambda: fake.published_texts() == [THANKS], timeout=60)
    assert fake.published_texts() == [THANKS]


def test_the_cli_adds_lists_and_removes_rules(
    client: TestClient, ocma: Ocma, workspace_id: str, account_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner
    from ocma_agent.automations.cli import automations

    monkeypatch.setenv("OCMA_DATABASE_URL", ocma.settings.database_url or "")
    monkeypatch.setenv("OCMA_DATA_DIR", str(ocma.settings.data_dir))
    cli = CliRunner()
    base = ["--on", "stripe.subscription_created", "--instruction", "Thank them", "--accounts", account_id]
    added = cli.invoke(automations, ["add", *base, "--cooldown", "30m", "-w", workspace_id])
    assert added.exit_code == 0, added.output
    listed = cli.invoke(automations, ["list", "--json", "-w", workspace_id])
    [rule] = json.loads(listed.output)
    assert (rule["id"], rule["cooldown_s"]) == ("stripe-subscription_created", 1800)
    typo = cli.invoke(automations, ["add", *base[:1], "stripe.sold", *base[2:], "-w", workspace_id])
    assert typo.exit_code == 1 and "stripe.subscription_created" in typo.output
    removed = cli.invoke(automations, ["remove", rule["id"], "-w", workspace_id])
    assert (
        removed.exit_code == 0
        and cli.invoke(automations, ["list", "--json", "-w", workspace_id]).output.strip() == "[]"
    )
