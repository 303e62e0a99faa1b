# ruff: noqa: F811  (the cli_run fixture is imported from cli_fixtures)
"""`ocma notifications`: newest first, --unread, --kind with prefixes, --mark-read marks what it showed."""

from __future__ import annotations

import json

from cli_fixtures import Run, cli_run  # noqa: F401

from ocma_core.context import Ocma
from ocma_core.events import Event, record
from ocma_core.services import notifications as feed


def test_list_filter_and_mark_read(cli_run: Run, ocma: Ocma, workspace_id: str) -> None:
    with ocma.session() as session:
        for i, kind in enumerate(["post.published", "post.failed", "metrics.updated", "post.failed"]):
            record(session, Event(kind, workspace_id, {"post_id": f"p{i}"}))
    code, out, err = cli_run("notifications", "--json")
    assert code == 0, err
    assert [n["seq"] for n in json.loads(out)] == [4, 3, 2, 1]
    code, out, err = cli_run("notifications", "--kind", "post.*", "--limit", "2", "--mark-read")
    assert code == 0, err
    assert "post.failed" in out and "Marked 2 read; 2 unread left." in out
    code, out, _ = cli_run("notifications", "--unread", "--json")
    assert [n["seq"] for n in json.loads(out)] == [3, 1]
    code, out, err = cli_run("notifications", "--kind", "Bad Kind")
    assert code != 0 and "kind" in (out + err)
    cli_run("notifications", "--unread", "--mark-read")
    assert feed.unread_count(ocma, workspace_id) == 0
    code, out, _ = cli_run("notifications", "--unread")
    assert code == 0 and "No unread notifications." in out
