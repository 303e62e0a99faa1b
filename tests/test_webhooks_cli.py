# ruff: noqa: F811  (the cli_run fixture is imported from cli_fixtures)
"""`ocma webhooks add URL --events ...` shows the secret once; `ocma events tail` prints the stored log."""

from __future__ import annotations

import json

import pytest
from cli_fixtures import Run, cli_run  # noqa: F401

from ocma_core.context import Ocma
from ocma_core.db.types import utcnow
from ocma_core.events import Event, record


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_add_list_and_tail(
    cli_run: Run, ocma: Ocma, workspace_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCMA_WEBHOOKS_ALLOW_PRIVATE", "1")
    code, out, err = cli_run(
        "webhooks", "add", "http://127.0.0.1:9/hook", "--events", "post.published,post.failed"
    )
    assert code == 0, err
    assert "whsec_" in out
    code, out, err = cli_run("webhooks", "list", "--json")
    [hook] = json.loads(out)
    assert hook["events"] == ["post.failed", "post.published"] and "secret" not in hook
    monkeypatch.delenv("OCMA_WEBHOOKS_ALLOW_PRIVATE")
    monkeypatch.delenv("OCMA_FETCH_ALLOW_PRIVATE", raising=False)
    code, out, err = cli_run("webhooks", "add", "http://127.0.0.1:9/other")
    assert code != 0 and "not a public address" in (out + err)
    with ocma.session() as session:
        record(
            session,
            Event("post.scheduled", workspace_id, {"post_id": "p", "scheduled_at": utcnow().isoformat()}),
        )
    code, out, err = cli_run("events", "tail", "--since", "0", "--no-follow", "--json")
    assert code == 0, err
    assert [json.loads(line)["kind"] for line in out.splitlines()] == ["post.scheduled"]
