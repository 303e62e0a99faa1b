"""Listing posts and finding the next queue slot cost the same whatever the backlog (counted, not timed)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import select

from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.db.models import Account, Role, Target, Workspace
from ocma_core.db.types import utcnow
from ocma_core.services import posts
from ocma_core.services.post_input import PostInput
from ocma_core.services.scheduling import next_free_slot
from ocma_core.services.workspaces import create_api_key, update_settings


@contextmanager
def counted(ocma: Ocma) -> Iterator[dict[str, int]]:
    """Statements sent to the database and Target rows turned into ORM objects meanwhile."""
    seen = {"statements": 0, "targets_loaded": 0}

    def on_statement(*_: Any) -> None:
        seen["statements"] += 1

    def on_load(*_: Any) -> None:
        seen["targets_loaded"] += 1

    event.listen(ocma.engine, "before_cursor_execute", on_statement)
    event.listen(Target, "load", on_load)
    try:
        yield seen
    finally:
        event.remove(ocma.engine, "before_cursor_execute", on_statement)
        event.remove(Target, "load", on_load)


def _schedule(ocma: Ocma, workspace_id: str, account_id: str, count: int, start_day: int) -> None:
    base = utcnow() + timedelta(days=start_day)
    for i in range(count):
        data = PostInput(
            body=f"p{start_day}-{i}",
            account_ids=[account_id],
            action="schedule",
            scheduled_at=base + timedelta(hours=i),
        )
        posts.create_post(ocma, workspace_id, data)


@pytest.fixture
def client(ocma: Ocma, fake: Any) -> Iterator[TestClient]:
    with TestClient(create_app(ocma, run_worker=False)) as c:
        yield c


def test_listing_posts_takes_the_same_queries_for_a_bigger_page(
    client: TestClient, ocma: Ocma, workspace_id: str, account_id: str
) -> None:
    headers = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.VIEWER).key}"}
    _schedule(ocma, workspace_id, account_id, 2, start_day=2)
    client.get("/v1/posts", headers=headers)  # warm caches (settings, plugins) before counting
    with counted(ocma) as small:
        assert len(client.get("/v1/posts", headers=headers).json()) == 2
    _schedule(ocma, workspace_id, account_id, 8, start_day=5)
    with counted(ocma) as big:
        page = client.get("/v1/posts", headers=headers).json()
    assert len(page) == 10 and all(len(p["targets"]) == 1 for p in page)
    assert big["statements"] == small["statements"]


def test_next_free_slot_reads_only_the_candidate_slots(
    ocma: Ocma, workspace_id: str, account_id: str
) -> None:
    update_settings(ocma, workspace_id, queue_slots={"weekdays": [], "times": ["09:00", "15:00"]})
    _schedule(ocma, workspace_id, account_id, 12, start_day=60)  # a backlog far beyond the slots looked at
    first = posts.create_post(
        ocma, workspace_id, PostInput(body="q1", account_ids=[account_id], action="next_slot")
    )
    with ocma.session() as session:
        workspace = session.get(Workspace, workspace_id)
        accounts = list(session.exec(select(Account).where(Account.id == account_id)))
        assert workspace is not None
        with counted(ocma) as seen:
            second = next_free_slot(session, workspace, accounts)
    assert first.scheduled_at is not None and second > first.scheduled_at  # the taken slot is skipped
    assert seen == {"statements": 1, "targets_loaded": 0}


def test_cursor_pages_give_every_post_once_in_order_then_the_drafts(
    client: TestClient, ocma: Ocma, workspace_id: str, account_id: str
) -> None:
    headers = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.VIEWER).key}"}
    same_time = utcnow() + timedelta(days=3)
    for i in range(4):  # four posts at one instant: the cursor must not skip or repeat any of them
        posts.create_post(
            ocma,
            workspace_id,
            PostInput(body=f"tie {i}", account_ids=[account_id], action="schedule", scheduled_at=same_time),
        )
    _schedule(ocma, workspace_id, account_id, 3, start_day=1)
    for i in range(3):
        posts.create_post(ocma, workspace_id, PostInput(body=f"draft {i}", account_ids=[account_id]))
    everything = [p["id"] for p in client.get("/v1/posts", params={"limit": 100}, headers=headers).json()]
    assert len(everything) == 10
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 3}
    for _ in range(10):
        answer = client.get("/v1/posts", params=params, headers=headers)
        assert answer.status_code == 200
        seen += [p["id"] for p in answer.json()]
        cursor = answer.headers.get("x-next-cursor")
        if cursor is None:
            break
        assert f"after={cursor}" in answer.headers["link"] and 'rel="next"' in answer.headers["link"]
        params = {"limit": 3, "after": cursor}
    assert seen == everything  # same order as one big page, nothing twice, drafts last


def _cursor(*key: object) -> str:
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "W10",
        "WzEsMiwzXQ",
        "%00" * 3,
        _cursor(None, "0001-01-01T00:00:00+14:00", "x"),  # before year 1 once in UTC
        _cursor("9999-12-31T23:59:59-14:00", "2026-01-01T00:00:00", "x"),  # after year 9999 once in UTC
        _cursor("2026-01-01T00:00:00", "2026-01-01T00:00:00", "id\u0000"),  # NUL hidden by the base64
        _cursor(1, 2, 3),
    ],
)
def test_a_cursor_that_was_not_given_out_is_a_clear_422(
    client: TestClient, ocma: Ocma, workspace_id: str, cursor: str
) -> None:
    headers = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.VIEWER).key}"}
    answer = client.get("/v1/posts", params={"after": cursor}, headers=headers)
    assert answer.status_code == 422 and "after" in answer.text


def test_a_cursor_and_an_offset_together_are_refused(
    client: TestClient, ocma: Ocma, workspace_id: str, account_id: str
) -> None:
    headers = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.VIEWER).key}"}
    _schedule(ocma, workspace_id, account_id, 2, start_day=2)
    cursor = client.get("/v1/posts", params={"limit": 1}, headers=headers).headers["x-next-cursor"]
    answer = client.get("/v1/posts", params={"after": cursor, "offset": 1}, headers=headers)
    assert answer.status_code == 422 and "either `after` or `offset`" in answer.text


def test_status_counts_each_status_up_to_a_cap(
    ocma: Ocma, workspace_id: str, account_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from ocma_core.cli.main import cli
    from ocma_core.services import status

    monkeypatch.setattr(status, "COUNT_CAP", 3)
    _schedule(ocma, workspace_id, account_id, 5, start_day=2)
    posts.create_post(ocma, workspace_id, PostInput(body="a draft", account_ids=[account_id]))
    report = status.engine_status(ocma)
    assert report["targets"] == {"queued": 3, "draft": 1} and report["targets_beyond_count"] == ["queued"]
    assert report["targets_counted_up_to"] == 3
    with ocma.session() as session, counted(ocma) as seen:
        status.target_counts(session)
    assert seen["targets_loaded"] == 0  # counted in the database, never loaded
    monkeypatch.setenv("OCMA_DATABASE_URL", ocma.settings.database_url)
    out = CliRunner().invoke(cli, ["status"]).output
    assert "Targets: 1 draft, 3+ queued" in out


KEYSET_SEARCH = "SEARCH post USING INDEX ix_post_listing_keyset (workspace_id=?"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # SQLite's plan is fixed (no statistics)
def test_a_listing_page_reads_through_indexes_with_no_sort_and_no_extra_query(
    client: TestClient, ocma: Ocma, workspace_id: str, account_id: str
) -> None:
    """What keeps a page's cost flat from 10k to 1M posts (benchmarks/scale.py): the posts come in order
    from ix_post_listing_keyset (never a scan, never a sort of the matches), their targets by post id, and
    nothing else is asked (no COUNT, no query per post)."""
    headers = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.VIEWER).key}"}
    _schedule(ocma, workspace_id, account_id, 3, start_day=2)
    for i in range(2):
        posts.create_post(ocma, workspace_id, PostInput(body=f"draft {i}", account_ids=[account_id]))
    client.get("/v1/posts", headers=headers)  # the key's first use is written down once, not on every page
    scheduled = client.get("/v1/posts", params={"limit": 2}, headers=headers).headers["x-next-cursor"]
    draft = client.get("/v1/posts", params={"limit": 4}, headers=headers).headers["x-next-cursor"]
    pages: list[tuple[dict[str, Any], int]] = [  # a page's query string, its queries of posts
        ({"limit": 100}, 1),  # the first page
        ({"limit": 100, "status": "scheduled"}, 1),
        ({"limit": 100, "start": "2020-01-01T00:00:00Z"}, 1),
        ({"limit": 100, "after": scheduled}, 2),  # the rest of the scheduled posts, then the drafts
        ({"limit": 100, "after": draft}, 1),  # the rest of the drafts
    ]
    sent: list[tuple[str, Any]] = []

    def on_statement(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    for params, post_queries in pages:
        sent.clear()
        event.listen(ocma.engine, "before_cursor_execute", on_statement)
        try:
            assert client.get("/v1/posts", params=params, headers=headers).status_code == 200
        finally:
            event.remove(ocma.engine, "before_cursor_execute", on_statement)
        with ocma.engine.connect() as conn:
            plans = [
                (
                    re.search(r"\bFROM (\w+)", statement)[1],  # type: ignore[index]
                    [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)],
                )
                for statement, parameters in sent
            ]
        tables = [table for table, _ in plans]
        assert tables == ["apikey", *["post"] * post_queries, "target"], params
        for table, plan in plans:
            assert not any("TEMP B-TREE" in step or step.startswith("SCAN") for step in plan), (params, plan)
            if table == "post":  # the page, or its range after the cursor, in the index's order
                assert len(plan) == 1 and plan[0].startswith(KEYSET_SEARCH), (params, plan)
            if table == "target":
                assert plan == ["SEARCH target USING INDEX ix_target_post_id (post_id=?)"], params


@pytest.mark.parametrize("dense_above", [0, 10_000])  # the account counts as dense / as small
def test_an_account_filter_gives_the_same_pages_written_either_way(
    ocma: Ocma, workspace_id: str, account_id: str, monkeypatch: pytest.MonkeyPatch, dense_above: int
) -> None:
    """A dense account is filtered by EXISTS beside the ordered index read (a page is found early), a small one
    by IN over its short target list; both give the same posts in the same order, cursor pages included."""
    from ocma_core.services import post_listing

    monkeypatch.setattr(post_listing, "DENSE_ACCOUNT_TARGETS", dense_above)
    with ocma.session() as session:
        other = Account(
            workspace_id=workspace_id,
            platform="fakesocial",
            external_id="other",
            handle="other",
            access_token_enc="",
        )
        session.add(other)
        session.commit()
        other_id = other.id
    _schedule(ocma, workspace_id, account_id, 5, start_day=2)
    _schedule(ocma, workspace_id, other_id, 3, start_day=3)
    posts.create_post(ocma, workspace_id, PostInput(body="draft", account_ids=[account_id]))
    mine = posts.list_posts(ocma, workspace_id)
    expected = [p.id for p in mine if p.body.startswith("p2-") or p.body == "draft"]
    first = posts.list_posts(ocma, workspace_id, account_id=account_id, limit=3)
    rest = posts.list_posts(
        ocma, workspace_id, account_id=account_id, after=post_listing.cursor_after(first[-1])
    )
    assert [p.id for p in first + rest] == expected and len(expected) == 6
    assert posts.list_posts(ocma, workspace_id, account_id="nobody") == []
