"""GET /v1/notifications, its unread count and POST /v1/notifications/read: roles, filters, exact keyset
pages, marking read (ids all or nothing, or up to a sequence id) and bad input, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.db.models import Role
from ocma_core.events import Event, record
from ocma_core.services.workspaces import create_api_key, create_workspace

KINDS = ["post.published", "post.failed", "metrics.updated", "post.published", "account.needs_reconnect"]


def _store(ocma: Ocma, workspace_id: str, kinds: list[str]) -> None:
    with ocma.session() as session:
        for i, kind in enumerate(kinds):
            record(session, Event(kind, workspace_id, {"post_id": f"p{i}", "n": i}))


def _key(ocma: Ocma, workspace_id: str, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=role).key}"}


@pytest.fixture
def client(ocma: Ocma) -> Any:
    with TestClient(create_app(ocma, run_worker=False)) as c:
        yield c


def _all_pages(client: TestClient, url: str, headers: dict[str, str]) -> tuple[list[int], int]:
    """Follow the Link headers from `url`; the sequence ids seen and how many requests it took."""
    seen: list[int] = []
    requests = 0
    while url:
        answer = client.get(url, headers=headers)
        assert answer.status_code == 200, answer.text
        requests += 1
        seen += [n["seq"] for n in answer.json()]
        link = answer.headers.get("Link")
        assert (link is None) == ("X-Next-Cursor" not in answer.headers)
        url = link[1 : link.index(">")] if link else ""
    return seen, requests


def test_a_viewer_reads_the_feed_of_its_own_workspace_only(
    ocma: Ocma, workspace_id: str, client: TestClient
) -> None:
    other = create_workspace(ocma, "Other", timezone="UTC", owner_email="x@example.com").id
    _store(ocma, other, ["post.published"] * 3)
    _store(ocma, workspace_id, KINDS)
    viewer = _key(ocma, workspace_id, Role.VIEWER)
    answer = client.get("/v1/notifications", headers=viewer)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert [n["seq"] for n in found] == [5, 4, 3, 2, 1]  # newest first
    assert [n["kind"] for n in reversed(found)] == KINDS
    assert all(not n["read"] and n["read_at"] is None for n in found)
    assert found[-1]["event_id"] == f"evt_{workspace_id}_1" and found[-1]["data"] == {"post_id": "p0", "n": 0}
    assert answer.headers["X-Unread-Count"] == "5" and "X-Next-Cursor" not in answer.headers
    count = client.get("/v1/notifications/unread-count", headers=viewer).json()
    assert count == {"unread": 5, "latest_seq": 5}
    refused = client.post("/v1/notifications/read", json={"up_to_seq": 5}, headers=viewer)
    assert refused.status_code == 403 and "editor" in refused.text and "notifications.mark" in refused.text
    assert client.get("/v1/notifications/unread-count", headers=viewer).json()["unread"] == 5
    assert client.get("/v1/notifications").status_code == 401


def test_filters_by_unread_kind_and_kind_prefix(ocma: Ocma, workspace_id: str, client: TestClient) -> None:
    _store(ocma, workspace_id, KINDS)
    editor = _key(ocma, workspace_id, Role.EDITOR)

    def seqs(query: str) -> list[int]:
        answer = client.get(f"/v1/notifications?order=oldest&{query}", headers=editor)
        assert answer.status_code == 200, answer.text
        return [n["seq"] for n in answer.json()]

    assert seqs("kind=post.published") == [1, 4]
    assert seqs("kind=post.published,metrics.updated") == [1, 3, 4]
    assert seqs("kind=post.*") == [1, 2, 4]
    assert seqs("kind=post.*,account.needs_reconnect") == [1, 2, 4, 5]
    assert seqs("kind=po_t.*") == []  # `_` is a character, not a LIKE wildcard
    marked = client.post("/v1/notifications/read", json={"up_to_seq": 2}, headers=editor)
    assert marked.status_code == 200 and marked.json() == {"marked": 2, "unread": 3}
    assert seqs("unread=true") == [3, 4, 5]
    assert seqs("unread=true&kind=post.*") == [4]
    read = client.get("/v1/notifications?order=oldest", headers=editor).json()
    assert [n["read"] for n in read] == [True, True, False, False, False]


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_pages_list_every_notification_once_in_order(
    ocma: Ocma, workspace_id: str, client: TestClient, order: str
) -> None:
    _store(ocma, workspace_id, ["post.published", "post.failed", "metrics.updated"] * 9)  # 27
    viewer = _key(ocma, workspace_id, Role.VIEWER)
    seen, requests = _all_pages(client, f"/v1/notifications?limit=5&order={order}", viewer)
    expected = list(range(1, 28))
    assert seen == (expected if order == "oldest" else expected[::-1])
    assert requests == 6  # five full pages and a last one of 2
    only, _ = _all_pages(client, f"/v1/notifications?limit=2&order={order}&kind=post.failed", viewer)
    assert sorted(only) == list(range(2, 28, 3)) and len(only) == 9
    full, requests = _all_pages(client, f"/v1/notifications?limit=9&order={order}", viewer)
    assert len(full) == 27 and requests == 4  # an exactly full last page: one more, empty, page says so


def test_pages_stay_exact_while_notifications_arrive(
    ocma: Ocma, workspace_id: str, client: TestClient
) -> None:
    _store(ocma, workspace_id, ["post.published"] * 4)
    viewer = _key(ocma, workspace_id, Role.VIEWER)
    first = client.get("/v1/notifications?limit=2&order=oldest", headers=viewer)
    _store(ocma, workspace_id, ["post.failed"] * 3)  # new ones arrive between pages
    rest, _ = _all_pages(
        client, f"/v1/notifications?limit=2&order=oldest&after={first.headers['X-Next-Cursor']}", viewer
    )
    assert [n["seq"] for n in first.json()] + rest == list(range(1, 8))
    first = client.get("/v1/notifications?limit=3", headers=viewer)
    _store(ocma, workspace_id, ["post.failed"])
    rest, _ = _all_pages(client, f"/v1/notifications?limit=3&after={first.headers['X-Next-Cursor']}", viewer)
    assert [n["seq"] for n in first.json()] + rest == [7, 6, 5, 4, 3, 2, 1]  # newer ones: on a new first page


def test_mark_read_by_ids_is_all_or_nothing(ocma: Ocma, workspace_id: str, client: TestClient) -> None:
    other = create_workspace(ocma, "Other", timezone="UTC", owner_email="x@example.com").id
    _store(ocma, other, ["post.published"])
    _store(ocma, workspace_id, KINDS)
    editor = _key(ocma, workspace_id, Role.EDITOR)
    theirs = client.get("/v1/notifications", headers=_key(ocma, other, Role.OWNER)).json()[0]["id"]
    mine = [n["id"] for n in client.get("/v1/notifications?order=oldest", headers=editor).json()]
    refused = client.post("/v1/notifications/read", json={"ids": [mine[0], "nope", theirs]}, headers=editor)
    assert refused.status_code == 422
    assert "nope" in refused.text and theirs in refused.text and mine[0] not in refused.json()["detail"]
    assert (
        client.get("/v1/notifications/unread-count", headers=editor).json()["unread"] == 5
    )  # nothing marked
    done = client.post("/v1/notifications/read", json={"ids": [mine[1], mine[3], mine[1]]}, headers=editor)
    assert done.status_code == 200 and done.json() == {"marked": 2, "unread": 3}
    first_read = client.get("/v1/notifications?kind=post.failed", headers=editor).json()[0]["read_at"]
    again = client.post("/v1/notifications/read", json={"up_to_seq": 5}, headers=editor)
    assert again.json() == {"marked": 3, "unread": 0}  # only the unread ones count
    assert client.get("/v1/notifications?kind=post.failed", headers=editor).json()[0]["read_at"] == first_read
    assert client.get("/v1/notifications?unread=true", headers=editor).json() == []
    owner = _key(ocma, other, Role.OWNER)
    assert client.get("/v1/notifications/unread-count", headers=owner).json()["unread"] == 1  # untouched


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("GET", "/v1/notifications?limit=201", None, "limit"),
        ("GET", "/v1/notifications?limit=0", None, "limit"),
        ("GET", "/v1/notifications?after=abc", None, "after"),
        ("GET", "/v1/notifications?after=-1", None, "after"),
        ("GET", "/v1/notifications?after=99999999999999999999", None, "after"),
        ("GET", "/v1/notifications?kind=post.published%00", None, "kind"),
        ("GET", "/v1/notifications?kind=Post.Published", None, "kind"),
        ("GET", "/v1/notifications?kind=*", None, "kind"),
        ("GET", "/v1/notifications?order=sideways", None, "order"),
        ("POST", "/v1/notifications/read", {}, "ids"),
        ("POST", "/v1/notifications/read", {"ids": ["a"], "up_to_seq": 1}, "ids"),
        ("POST", "/v1/notifications/read", {"up_to_seq": -1}, "up_to_seq"),
        ("POST", "/v1/notifications/read", {"up_to_seq": "3"}, "up_to_seq"),
        ("POST", "/v1/notifications/read", {"ids": ["a\x00b"]}, "ids"),
        ("POST", "/v1/notifications/read", {"ids": ["x"] * 501}, "ids"),
        ("POST", "/v1/notifications/read", {"everything": True}, "everything"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    ocma: Ocma, workspace_id: str, client: TestClient, method: str, url: str, body: Any, field: str
) -> None:
    _store(ocma, workspace_id, KINDS)
    editor = _key(ocma, workspace_id, Role.EDITOR)
    answer = client.request(method, url, headers=editor, **({"json": body} if body is not None else {}))
    assert answer.status_code == 422, answer.text
    assert field in answer.text
    assert client.get("/v1/notifications/unread-count", headers=editor).json()["unread"] == 5
