"""CSV import (all-or-nothing, or valid rows only) and listing posts by window, status and account."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ocma_core.context import Ocma
from ocma_core.db.types import utcnow
from ocma_core.services import posts
from ocma_core.services.post_import import import_csv
from ocma_core.services.post_input import PostInput


def _csv(rows: list[str]) -> str:
    return "body,accounts,scheduled_at,timezone,thread,variant:fakesocial\n" + "\n".join(rows) + "\n"


def test_import_reports_every_bad_row_and_imports_nothing(
    ocma: Ocma, workspace_id: str, account_id: str
) -> None:
    soon = (utcnow() + timedelta(days=1)).isoformat()
    text = _csv(
        [
            f"Good one,{account_id},{soon},,,",
            f"{'x' * 501},{account_id},{soon},,,",
            f"Unknown account,nobody,{soon},,,",
            f"Bad zone,{account_id},{soon},Mars/Olympus,,",
            f"Bad date,{account_id},tomorrow-ish,,,",
        ]
    )
    report = import_csv(ocma, workspace_id, text)
    rows = sorted({p["row"] for p in report.problems})
    assert rows == [3, 4, 5, 6]
    assert any("501 characters" in p["message"] for p in report.problems if p["row"] == 3)
    assert any("unknown account 'nobody'" in p["message"] for p in report.problems if p["row"] == 4)
    assert report.imported == [] and posts.list_posts(ocma, workspace_id) == []
    partial = import_csv(ocma, workspace_id, text, partial=True)
    assert len(partial.imported) == 1
    [post] = posts.list_posts(ocma, workspace_id)
    assert post.body == "Good one" and str(post.status) == "scheduled"


def test_import_by_handle_with_thread_and_variant(ocma: Ocma, workspace_id: str, account_id: str) -> None:
    text = _csv(["Main text,fakesocial:fakeuser,,,part two||part three,Variant for FakeSocial"])
    report = import_csv(ocma, workspace_id, text)
    assert report.problems == [] and len(report.imported) == 1
    post = posts.get_post(ocma, workspace_id, report.imported[0])
    assert post.thread == ["part two", "part three"] and post.variants == {
        "fakesocial": "Variant for FakeSocial"
    }
    assert str(post.status) == "draft"


def test_header_is_required(ocma: Ocma, workspace_id: str) -> None:
    import pytest

    from ocma_core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as info:
        import_csv(ocma, workspace_id, "text,when\nhello,now\n")
    assert "body and accounts" in str(info.value)


def test_list_by_window_status_and_account(ocma: Ocma, workspace_id: str, account_id: str, fake: Any) -> None:
    base = utcnow() + timedelta(days=2)
    for i in range(3):
        data = PostInput(
            body=f"p{i}", account_ids=[account_id], action="schedule", scheduled_at=base + timedelta(hours=i)
        )
        posts.create_post(ocma, workspace_id, data)
    posts.create_post(ocma, workspace_id, PostInput(body="draft", account_ids=[account_id]))
    window = posts.list_posts(ocma, workspace_id, start=base, end=base + timedelta(hours=2))
    assert [p.body for p in window] == ["p0", "p1"]
    assert [p.body for p in posts.list_posts(ocma, workspace_id, status="draft")] == ["draft"]
    assert len(posts.list_posts(ocma, workspace_id, account_id=account_id)) == 4
    assert posts.list_posts(ocma, workspace_id, account_id="someone-else") == []
