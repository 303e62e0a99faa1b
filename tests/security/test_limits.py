"""Medium leftovers of "no size limits": `/v1/posts/failed` and the other growing lists are paged, and a post's
variants and options are capped. The paging check is generated from the route table."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_route_roles import _host, _routes

from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.db.models import Post, PostStatus, Role, Target, TargetStatus
from ocma_core.plugins import reset_host
from ocma_core.services.post_input import MAX_OPTIONS_BYTES, MAX_VARIANTS, PostInput
from ocma_core.services.posts import create_post
from ocma_core.services.workspaces import create_api_key

# Lists bounded by what people set up by hand, not by use: not paged.
SMALL = {
    "/v1/plugins": "installed plugins",
    "/v1/analytics/analyzers": "registered analyzers",
    "/v1/accounts": "connected accounts",
    "/v1/members": "people in the workspace",
    "/v1/apikeys": "keys an admin created",
    "/v1/workspaces": "the caller's workspaces",
    "/v1/analytics/best-times": "one entry per account",
    "/v1/webhooks": "endpoints an admin added (at most 20 per workspace)",
    "/v1/posts/held": "posts that fell due while an account was broken, each waiting for a person",
}


def test_every_list_route_is_paged(ocma: Ocma, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("the route table does not depend on the database")
    reset_host(_host())
    try:
        app = create_app(ocma, run_worker=False)
        unpaged = []
        for method, path, route in _routes(app):
            returns = typing.get_type_hints(route.endpoint).get("return")
            if method != "GET" or typing.get_origin(returns) is not list or path in SMALL:
                continue
            names = {p.name for p in route.dependant.query_params}
            if not ({"limit", "offset"} <= names or {"limit", "after"} <= names):  # offset or keyset pages
                unpaged.append(path)
    finally:
        reset_host(None)
    assert unpaged == [], f"list routes without limit and offset (or after): {unpaged}"


def test_failed_posts_come_in_pages(ocma: Ocma, workspace_id: str, account_id: str) -> None:
    for n in range(3):
        post = create_post(ocma, workspace_id, PostInput(body=f"p{n}", account_ids=[account_id]))
        with ocma.session() as session:
            stored = session.get(Post, post.id)
            assert stored is not None
            stored.status = PostStatus.FAILED
            for target in session.exec(
                __import__("sqlmodel").select(Target).where(Target.post_id == post.id)
            ):
                target.status, target.last_error = TargetStatus.FAILED, "refused"
                session.add(target)
            session.add(stored)
    key = create_api_key(ocma, workspace_id, role=Role.VIEWER).key
    with TestClient(create_app(ocma, run_worker=False)) as client:
        auth = {"Authorization": f"Bearer {key}"}
        first = client.get("/v1/posts/failed", params={"limit": 2}, headers=auth).json()
        rest = client.get("/v1/posts/failed", params={"limit": 2, "offset": 2}, headers=auth).json()
        too_many = client.get("/v1/posts/failed", params={"limit": 100_000}, headers=auth)
    assert len(first) == 2 and len(rest) == 1
    assert {r["post_id"] for r in first}.isdisjoint({r["post_id"] for r in rest})
    assert too_many.status_code == 422


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("variants", {f"acct{n}": "x" for n in range(MAX_VARIANTS + 1)}),
        ("variants", {"x": "y" * 100_001}),
        ("options", {"x": {"poll": "z" * (MAX_OPTIONS_BYTES + 1)}}),
        ("options", {f"p{n}": {} for n in range(MAX_VARIANTS + 1)}),
    ],
)
def test_variants_and_options_are_capped(
    ocma: Ocma, workspace_id: str, field: str, value: Any, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("validation happens before the database")
    key = create_api_key(ocma, workspace_id, role=Role.EDITOR).key
    with TestClient(create_app(ocma, run_worker=False)) as client:
        answer = client.post(
            "/v1/posts", headers={"Authorization": f"Bearer {key}"}, json={"body": "hi", field: value}
        )
    assert answer.status_code == 422 and field in answer.text
