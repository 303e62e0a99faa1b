"""The review's checks, generated from the route table so a new route is covered the day it lands:

- every route either names the Action its key must allow (`require(Action.X)`) or is listed in PUBLIC with why;
- every route x every role: a role below the action's least role gets 403; a role at or above is not refused;
- every route with ids in its path, called with another workspace's ids: never a success, never a byte of the
  other workspace's data in the answer, and the other workspace unchanged (404 where the request is valid).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import select

from ocma_core.context import Ocma
from ocma_core.db.analytics_models import Competitor, Experiment
from ocma_core.db.event_models import Webhook
from ocma_core.db.models import (
    ROLE_RANK,
    Account,
    ApiKey,
    Conversation,
    ConversationMessage,
    Media,
    Member,
    Notification,
    Post,
    Role,
    Workspace,
)
from ocma_core.events import Event, record
from ocma_core.permissions import Action, least_role
from ocma_core.services.post_input import PostInput
from ocma_core.services.posts import create_post
from ocma_core.services.workspaces import create_api_key, create_workspace

# Routes no API key guards, and what guards them instead.
PUBLIC = {
    ("GET", "/healthz"): "liveness, says nothing about any workspace",
    ("GET", "/readyz"): "readiness of the database and queue",
    ("GET", "/metrics"): "Prometheus counters for the operator",
    ("GET", "/"): "where to go: links to the docs and health (no workspace data)",
    ("GET", "/docs"): "the API's documentation page, served offline (no workspace data)",
    ("GET", "/oauth/callback/{platform}"): "the platform sends the browser back; a single-use state bound to "
    "the browser that opened the start link decides",
    ("GET", "/oauth/start/{platform}"): "the single-use start link a person opens in their browser",
    ("GET", "/media/{media_id}"): "a signed, expiring URL (platforms fetch media from it)",
    ("GET", "/webhooks/{source}"): "the platform's challenge, answered only in its documented format",
    ("POST", "/webhooks/{source}"): "deliveries signed by the platform or the receiver's sender",
    ("POST", "/slack/events"): "requests signed with Slack's signing secret; members checked per action",
    ("GET", "/slack/install"): "Slack's OAuth install, its state bound to a browser cookie",
    ("GET", "/slack/oauth_redirect"): "Slack's OAuth redirect, state and cookie checked",
    ("GET", "/sandbox"): "the sandbox platform's public pages: what was published there, like a profile",
    ("GET", "/sandbox/{name}"): "the sandbox platform's public feed of one account",
    ("GET", "/sandbox/{name}.json"): "the same feed as JSON",
}
MARKER = "tenant-b-secret-7f3a"
THREAD = "tb-thread"
# Bodies that make a request valid, so a foreign id is what decides the answer (404).
EXAMPLES: dict[tuple[str, str], Any] = {
    ("PUT", "/v1/posts/{post_id}"): {"body": "x", "account_ids": [], "action": "draft"},
    ("POST", "/v1/agent/threads/{thread_id}/approvals/{post_id}"): {"approve": True},
    ("PATCH", "/v1/members/{member}"): {"name": "x"},
    ("PATCH", "/v1/webhooks/{webhook_id}"): {"description": "x"},
    ("POST", "/v1/webhooks/{webhook_id}/redeliver"): {"since": "2026-01-01T00:00:00Z"},
    ("POST", "/v1/notifications/read"): {"up_to_seq": 1000},  # must not mark workspace B's read
}
# Query strings that make a request finish (the event stream follows the log until told not to).
QUERIES: dict[tuple[str, str], str] = {
    ("GET", "/v1/events"): "?follow=false&since=0",
    ("GET", "/v1/stream"): "?follow=false&since=0",
}


def _host() -> Any:
    import ocma_example_platform

    from ocma_core.plugins import PluginHost, load_plugins

    host = load_plugins(PluginHost())
    host.register(ocma_example_platform, name="ocma_example_platform")
    return host


def _routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    """(method, path, route) of every HTTP route of the app, included routers and plugin routes too."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: included routes are plain APIRoutes on the app
        found = [(r.path, r) for r in app.routes if isinstance(r, APIRoute)]
    else:
        found = [
            (c.path, c.original_route)
            for c in iter_route_contexts(app.routes)
            if isinstance(c.original_route, APIRoute)
        ]
    return sorted((method, path, route) for path, route in found for method in route.methods - {"HEAD"})


def route_action(route: APIRoute) -> Action | Role | None:
    """The Action (or, not yet converted, the bare Role) the route's key dependency requires."""
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        action = getattr(dependency.call, "ocma_action", None)
        if action is not None:
            return action  # type: ignore[no-any-return]
        pending.extend(dependency.dependencies)
    return None


def _route_table() -> list[tuple[str, str, Action | Role | None]]:
    import tempfile

    from cryptography.fernet import Fernet

    from ocma_core.api.app import create_app
    from ocma_core.config import Settings
    from ocma_core.plugins import reset_host

    reset_host(_host())
    try:
        with tempfile.TemporaryDirectory() as folder:
            settings = Settings(
                data_dir=folder,
                database_url=f"sqlite:///{folder}/ocma.db",
                encryption_keys=Fernet.generate_key().decode(),
                _env_file=None,  # type: ignore[call-arg]
            )
            app = create_app(Ocma(settings), run_worker=False)
            return [(m, p, route_action(r)) for m, p, r in _routes(app)]
    finally:
        reset_host(None)


ROUTES = _route_table()
GUARDED = [(m, p, a) for m, p, a in ROUTES if (m, p) not in PUBLIC]


def test_every_route_names_an_action_or_says_why_it_is_public() -> None:
    unguarded = [f"{m} {p}" for m, p, a in ROUTES if a is None and (m, p) not in PUBLIC]
    bare = [f"{m} {p}" for m, p, a in ROUTES if a is not None and not isinstance(a, Action)]
    stale = [f"{m} {p}" for m, p in PUBLIC if not any((m, p) == (rm, rp) for rm, rp, _ in ROUTES)]
    assert unguarded == [], (
        f"routes without a key: require(Action.X) them or list them in PUBLIC: {unguarded}"
    )
    assert bare == [], f"routes that name a bare Role: name an Action (ocma_core.permissions): {bare}"
    assert stale == [], f"PUBLIC lists routes that no longer exist: {stale}"
    assert len(GUARDED) >= 60


class Tenants:
    """Workspace A (one key per role) and workspace B (one of everything, marked with MARKER)."""

    def __init__(self, ocma: Ocma) -> None:
        self.ocma = ocma
        self.a = create_workspace(ocma, "Tenant A", owner_email="a@example.com").id
        self.keys = {role: create_api_key(ocma, self.a, role=role).key for role in Role}
        self.b = create_workspace(ocma, "Tenant B", owner_email=f"{MARKER}@example.com").id
        self.params = self._seed_b()

    def _seed_b(self) -> dict[str, str]:
        ocma, b = self.ocma, self.b
        with ocma.session() as session:
            account = Account(
                workspace_id=b,
                platform="fakesocial",
                external_id="b-1",
                handle=MARKER,
                access_token_enc=ocma.vault.encrypt("b-token"),
            )
            media = Media(workspace_id=b, sha256="0" * 64, mime_type="image/png", size=1, storage_key=MARKER)
            experiment = Experiment(workspace_id=b, name=MARKER)
            session.add_all([account, media, experiment])
            session.flush()
            competitor = Competitor(
                workspace_id=b, platform="fakesocial", handle=MARKER, via_account_id=account.id
            )
            conversation = Conversation(workspace_id=b, thread_key=f"api:{THREAD}")
            session.add_all([competitor, conversation])
            session.flush()
            session.add(
                ConversationMessage(conversation_id=conversation.id, role="user", content={"text": MARKER})
            )
            ids = {
                "account_id": account.id,
                "media_id": media.id,
                "experiment_id": experiment.id,
                "competitor_id": competitor.id,
            }
            member = session.exec(select(Member).where(Member.workspace_id == b)).one()
            ids["member"] = member.id
        ids["post_id"] = create_post(ocma, b, PostInput(body=MARKER, account_ids=[ids["account_id"]])).id
        ids["key_id"] = create_api_key(ocma, b, role=Role.OWNER).record.key_id
        with ocma.session() as session:
            hook = Webhook(
                workspace_id=b, url=f"https://example.com/{MARKER}", secret_enc=ocma.vault.encrypt("s")
            )
            session.add(hook)
            session.flush()
            ids["webhook_id"] = hook.id
        with ocma.session() as session:
            event = Event("post.scheduled", b, {"post_id": MARKER})
            record(session, event)
        from ocma_agent.automations.manage import add_rule
        from ocma_agent.automations.rules import Rule

        rule = Rule(id="rule-b", on="post.published", instruction=MARKER, accounts=[ids["account_id"]])
        ids["rule_id"] = add_rule(ocma, b, rule).id
        return {
            **ids,
            "platform": "fakesocial",
            "vendor": "openai",
            "name": "platform/x",
            "thread_id": THREAD,
        }

    def snapshot_b(self) -> str:
        """Every row of workspace B, to compare before and after a request."""
        rows: list[Any] = []
        with self.ocma.session() as session:
            rows.append(session.get(Workspace, self.b))
            for model in (
                Account,
                Media,
                Post,
                Member,
                ApiKey,
                Experiment,
                Competitor,
                Conversation,
                Webhook,
                Notification,
            ):
                rows.extend(session.exec(select(model).where(model.workspace_id == self.b)))  # type: ignore[attr-defined]
            dumped = [r.model_dump(exclude={"last_used_at"}) for r in rows if r is not None]
        return json.dumps(dumped, default=str, sort_keys=True)


@pytest.fixture(scope="module")
def tenants(shared_ocma: tuple[Ocma, str]) -> Iterator[tuple[TestClient, Tenants]]:
    """The real app on a shared database with workspaces A and B."""
    from ocma_core.api.app import create_app
    from ocma_core.plugins import reset_host

    ocma, _ = shared_ocma
    reset_host(_host())
    with TestClient(create_app(ocma, run_worker=False), raise_server_exceptions=False) as client:
        yield client, Tenants(ocma)
    reset_host(None)


def _url(path: str, params: dict[str, str]) -> str:
    import re

    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        assert name in params, f"{path}: add a value for {{{name}}} to Tenants._seed_b (a new id type?)"
        return params[name]

    return re.sub(r"\{([^}]+)\}", value, path)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("method", "path", "action"), GUARDED, ids=[f"{m} {p}" for m, p, _ in GUARDED])
def test_route_x_role_with_another_workspaces_ids(
    tenants: tuple[TestClient, Tenants], method: str, path: str, action: Action, role: Role
) -> None:
    client, world = tenants
    before = world.snapshot_b()
    body = EXAMPLES.get((method, path), {})
    response = client.request(
        method,
        _url(path, world.params) + QUERIES.get((method, path), ""),
        headers={"Authorization": f"Bearer {world.keys[role]}"},
        **({"json": body} if method in ("POST", "PUT", "PATCH") else {}),
    )
    need = least_role(action, "api")
    if ROLE_RANK[role] < ROLE_RANK[need]:
        assert response.status_code == 403, (response.status_code, response.text)
        assert need.value in response.text and action.value in response.text
    else:
        assert response.status_code not in (401, 403), response.text
        foreign = any(
            f"{{{p}}}" in path
            for p in (
                "post_id",
                "account_id",
                "media_id",
                "experiment_id",
                "competitor_id",
                "member",
                "key_id",
                "webhook_id",
                "rule_id",
            )
        )
        if foreign:
            expected = {404} if (method, path) in EXAMPLES or method in ("GET", "DELETE") else {404, 422}
            assert response.status_code in expected, (response.status_code, response.text)
    assert MARKER not in response.text
    assert world.snapshot_b() == before, f"{method} {path} as {role.value} changed workspace B"
