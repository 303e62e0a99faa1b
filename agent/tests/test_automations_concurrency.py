"""Two admins editing the same automation: the second edit, made against the version the first replaced, is
refused (412) and loses nothing; replacing a rule needs the version edited (409 without it); two adds at once
keep both rules."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.db.models import Role
from ocma_core.plugin_registry import clear_caches
from ocma_core.plugins import PluginHost
from ocma_core.services.workspaces import create_api_key


@pytest.fixture
def admin(
    ocma: Ocma, workspace_id: str, plugin_host: PluginHost
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The API with the agent and ocma-stripe loaded (its events are what rules react to) and an admin key."""
    import ocma_agent.plugin
    import ocma_stripe

    plugin_host.register(ocma_agent.plugin, name="agent")
    plugin_host.register(ocma_stripe, name="stripe")
    clear_caches()
    auth = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.ADMIN).key}"}
    with TestClient(create_app(ocma, run_worker=False)) as client:
        yield client, auth
    clear_caches()


def rule(rule_id: str, instruction: str, account_id: str) -> dict[str, Any]:
    return {
        "id": rule_id,
        "on": "stripe.subscription_created",
        "instruction": instruction,
        "accounts": [account_id],
    }


def test_a_stale_edit_is_refused_and_loses_nothing(
    admin: tuple[TestClient, dict[str, str]], account_id: str
) -> None:
    client, auth = admin
    created = client.post("/v1/automations", json=rule("thanks", "Thank them", account_id), headers=auth)
    assert created.status_code == 201, created.text
    read_by_both = client.get("/v1/automations", headers=auth).json()["etags"]["thanks"]
    assert read_by_both == created.headers["ETag"]
    first = rule("thanks", "Thank them warmly", account_id)
    answer = client.post("/v1/automations", json=first, headers={**auth, "If-Match": read_by_both})
    assert answer.status_code == 201, answer.text
    second = rule("thanks", "Thank them briefly", account_id)
    stale = client.post("/v1/automations", json=second, headers={**auth, "If-Match": read_by_both})
    assert stale.status_code == 412, stale.text
    problem = stale.json()
    assert "was changed since you read it" in problem["detail"] and "nothing was changed" in problem["detail"]
    assert "If-Match" in problem["fix"]
    gone = client.delete("/v1/automations/thanks", headers={**auth, "If-Match": read_by_both})
    assert gone.status_code == 412
    listed = client.get("/v1/automations", headers=auth).json()
    assert [r["instruction"] for r in listed["automations"]] == ["Thank them warmly"]  # the first edit stands
    assert listed["etags"]["thanks"] == answer.headers["ETag"] != read_by_both


def test_replacing_without_the_version_is_a_conflict(
    admin: tuple[TestClient, dict[str, str]], account_id: str
) -> None:
    client, auth = admin
    assert (
        client.post("/v1/automations", json=rule("thanks", "A", account_id), headers=auth).status_code == 201
    )
    blind = client.post("/v1/automations", json=rule("thanks", "B", account_id), headers=auth)
    assert blind.status_code == 409, blind.text
    current = client.get("/v1/automations", headers=auth).json()["etags"]["thanks"]
    assert "exists already" in blind.json()["detail"] and current in blind.json()["fix"]
    assert [r["instruction"] for r in client.get("/v1/automations", headers=auth).json()["automations"]] == [
        "A"
    ]
    ok = client.delete("/v1/automations/thanks", headers={**auth, "If-Match": current})
    assert ok.status_code == 204


def test_changes_at_once_keep_every_rule(
    ocma: Ocma, workspace_id: str, account_id: str, plugin_host: PluginHost
) -> None:
    """Each change reads the list inside its own lock: rules added from many threads are all kept."""
    import ocma_agent.plugin
    import ocma_stripe
    from ocma_agent.automations.manage import add_rule, list_rules
    from ocma_agent.automations.rules import Rule

    plugin_host.register(ocma_agent.plugin, name="agent")
    plugin_host.register(ocma_stripe, name="stripe")
    clear_caches()
    start = threading.Barrier(8)

    def add(n: int) -> None:
        start.wait()
        add_rule(ocma, workspace_id, Rule.model_validate(rule(f"r{n}", "Thank them", account_id)))

    threads = [threading.Thread(target=add, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.id for r in list_rules(ocma, workspace_id)) == [f"r{n}" for n in range(8)]
    clear_caches()


def test_a_rules_etag_is_the_one_issued_before_the_shared_helper() -> None:
    """Pinned: a changed hashing would make every etag a client holds stale."""
    from ocma_agent.automations.manage import etag
    from ocma_agent.automations.rules import Rule

    rule = Rule(
        id="thanks", on="stripe.subscription_created", instruction="thank new subscribers", accounts=["acc1"]
    )
    assert etag(rule) == '"0e50d46761ad4169590fca7df050d56a"'
