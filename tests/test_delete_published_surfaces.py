"""Deleting a published post over HTTP (`POST /v1/posts/{id}/delete-published`) and from the CLI."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests_support import connect_fakesocial, publish_and_wait

from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.db.models import PostStatus, Role
from ocma_core.services import posts
from ocma_core.services.post_input import PostInput
from ocma_core.services.workspaces import create_api_key, create_workspace


@pytest.fixture
def client(ocma: Ocma, fake: Any) -> Iterator[TestClient]:
    with TestClient(create_app(ocma, run_worker=False)) as c:
        yield c


def _auth(ocma: Ocma, workspace_id: str, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=role).key}"}


def test_api_deletes_on_chosen_accounts_then_everywhere(
    client: TestClient, ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    other = connect_fakesocial(ocma, workspace_id, fake, user="1002")
    post_id = publish_and_wait(ocma, workspace_id, [account_id, other], "Over HTTP", ["the reply"])
    url = f"/v1/posts/{post_id}/delete-published"
    viewer, editor = _auth(ocma, workspace_id, Role.VIEWER), _auth(ocma, workspace_id, Role.EDITOR)

    assert client.post(url, headers=viewer).status_code == 403
    assert client.post(url, headers=editor, json={"account_ids": []}).status_code == 422
    assert len(fake.published_texts()) == 4

    first = client.post(url, headers=editor, json={"account_ids": [other]})

    assert first.status_code == 200, first.text
    body = first.json()
    assert [(t["account_id"], t["status"], t["parts_deleted"]) for t in body["targets"]] == [
        (other, "deleted", 2)
    ]
    assert body["post"]["status"] == "published"  # still out on the first account
    assert {t["account_id"]: t["status"] for t in body["post"]["targets"]} == {
        account_id: "published",
        other: "deleted",
    }

    rest = client.post(url, headers=editor).json()

    assert {(t["account_id"], t["status"]) for t in rest["targets"]} == {
        (account_id, "deleted"),
        (other, "skipped"),
    }
    assert rest["post"]["status"] == "deleted" and fake.published_texts() == []
    listed = client.get("/v1/posts", headers=viewer, params={"status": "deleted"}).json()
    assert [p["id"] for p in listed] == [post_id]
    assert client.get("/v1/posts", headers=viewer, params={"status": "gone"}).status_code == 422
    again = client.post(url, headers=editor)
    assert again.status_code == 409 and "already deleted" in again.json()["fix"]


def test_api_answers_404_for_another_workspace_and_409_for_nothing_published(
    client: TestClient, ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    post_id = publish_and_wait(ocma, workspace_id, [account_id], "Not yours")
    stranger = _auth(ocma, create_workspace(ocma, "Other team").id, Role.OWNER)

    refused = client.post(f"/v1/posts/{post_id}/delete-published", headers=stranger)

    assert refused.status_code == 404 and refused.headers["content-type"] == "application/problem+json"
    assert fake.published_texts() == ["Not yours"]
    draft = posts.create_post(ocma, workspace_id, PostInput(body="draft", account_ids=[account_id]))
    editor = _auth(ocma, workspace_id, Role.EDITOR)
    conflict = client.post(f"/v1/posts/{draft.id}/delete-published", headers=editor)
    assert conflict.status_code == 409 and "cancel" in conflict.json()["fix"]


def test_api_reports_a_platform_refusal_per_target(
    client: TestClient, ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    post_id = publish_and_wait(ocma, workspace_id, [account_id], "Protected")
    external_id = posts.targets_of(ocma, post_id)[0].external_id
    fake.protect(external_id, "Posts older than a day cannot be deleted.")

    body = client.post(
        f"/v1/posts/{post_id}/delete-published", headers=_auth(ocma, workspace_id, Role.ADMIN)
    ).json()

    [target] = body["targets"]
    assert target["status"] == "failed"
    assert "Posts older than a day cannot be deleted." in target["reason"]
    assert body["post"]["status"] == "published" and fake.published_texts() == ["Protected"]


@pytest.fixture
def cli(
    ocma: Ocma, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """Run `ocma ...` on the test's database; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("OCMA_DATABASE_URL", ocma.settings.resolved_database_url.replace("+psycopg", ""))
    monkeypatch.setenv("OCMA_DATA_DIR", str(ocma.settings.data_dir))
    monkeypatch.setenv("OCMA_ENCRYPTION_KEYS", ocma.settings.encryption_keys or "")

    def invoke(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        from ocma_core.cli.main import main

        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        with pytest.raises(SystemExit) as exited:
            main(list(argv))
        captured = capsys.readouterr()
        return int(exited.value.code or 0), captured.out, captured.err

    return invoke


def test_cli_asks_before_deleting(
    cli: Callable[..., tuple[int, str, str]], ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    post_id = publish_and_wait(ocma, workspace_id, [account_id], "From the terminal", ["second part"])

    code, out, _ = cli("posts", "delete-published", post_id, stdin="n\n")

    assert code == 1 and "2 parts" in out and "cannot be undone" in out
    assert len(fake.published_texts()) == 2  # declined: nothing deleted

    code, out, _ = cli("posts", "delete-published", post_id, "--account", account_id, stdin="y\n")

    assert code == 0 and "deleted" in out and "2/2" in out
    assert fake.published_texts() == []
    assert posts.get_post(ocma, workspace_id, post_id).status is PostStatus.DELETED


def test_cli_yes_json_and_errors(
    cli: Callable[..., tuple[int, str, str]], ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    post_id = publish_and_wait(ocma, workspace_id, [account_id], "Scripted")

    code, out, _ = cli("posts", "delete-published", post_id, "--yes", "--json")

    assert code == 0 and [r["status"] for r in json.loads(out)] == ["deleted"]
    code, _, err = cli("posts", "delete-published", post_id, "--yes")
    assert code == 1 and "already deleted" in err
    code, _, err = cli("posts", "delete-published", "no-such-post", "--yes")
    assert code == 1 and "No post" in err
    code, out, _ = cli("posts", "list", "--status", "deleted", "--json")
    assert code == 0 and [p["id"] for p in json.loads(out)] == [post_id]


def test_cli_status_choices_are_the_post_statuses() -> None:
    from ocma_core.cli.posts import STATUSES

    assert tuple(s.value for s in PostStatus) == STATUSES
