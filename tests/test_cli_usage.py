# ruff: noqa: F811  (the cli_run fixture is imported from cli_fixtures)
"""The CLI as a person uses it: drafts without accounts, relative times, media upload, CLI advice in errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cli_fixtures import Run, cli_run  # noqa: F401
from fastapi.testclient import TestClient
from test_media import png

from ocma_core.context import Ocma
from ocma_core.db.models import Role
from ocma_core.services import posts


@pytest.fixture
def backend() -> str:
    """SQLite only: these tests are about what the CLI prints; the services are tested on both databases."""
    return "sqlite"


def _only_post(ocma: Ocma, workspace_id: str) -> Any:
    (post,) = posts.list_posts(ocma, workspace_id)
    return post


def test_a_post_without_accounts_is_a_draft_scheduled_later(
    cli_run: Run, ocma: Ocma, workspace_id: str, account_id: str
) -> None:
    code, out, _ = cli_run("posts", "create", "An idea for Friday")
    post = _only_post(ocma, workspace_id)
    assert code == 0 and f"Post {post.id} is draft." in out
    assert post.status == "draft" and posts.targets_of(ocma, post.id) == []

    berlin = ZoneInfo("Europe/Berlin")  # the workspace's timezone
    days = {datetime.now(berlin).date() + timedelta(days=1)}
    code, out, err = cli_run("posts", "schedule", post.id, "-a", account_id, "--at", "tomorrow 09:00")
    days.add(datetime.now(berlin).date() + timedelta(days=1))  # the run may straddle midnight
    assert code == 0, err
    post = _only_post(ocma, workspace_id)
    assert post.status == "scheduled" and [t.account_id for t in posts.targets_of(ocma, post.id)] == [
        account_id
    ]
    assert post.scheduled_at in {datetime.combine(d, time(9), tzinfo=berlin).astimezone(UTC) for d in days}
    # said in the workspace's zone first, UTC beside it
    assert " 09:00 Europe/Berlin (0" in out and " UTC). Accounts: 1." in out
    code, out, _ = cli_run("posts", "show", post.id)
    assert code == 0 and " 09:00 Europe/Berlin (" in out


def test_now_says_queued_and_a_held_post_says_how_to_approve(
    cli_run: Run, ocma: Ocma, workspace_id: str, account_id: str
) -> None:
    from ocma_core.services.workspaces import update_settings

    code, out, err = cli_run("posts", "create", "Right away", "-a", account_id, "--now")
    post = _only_post(ocma, workspace_id)
    assert code == 0 and f"Post {post.id} is queued to publish now" in out, err
    update_settings(ocma, workspace_id, approval_required=True)
    code, out, err = cli_run("posts", "create", "Needs a look", "-a", account_id, "--in", "2h")
    held = next(p for p in posts.list_posts(ocma, workspace_id) if p.id != post.id)
    assert code == 0 and f"`ocma posts approve {held.id}`" in out, err


def test_in_two_hours(cli_run: Run, ocma: Ocma, workspace_id: str, account_id: str) -> None:
    before = datetime.now(UTC)
    code, _, err = cli_run("posts", "create", "Soon", "-a", account_id, "--in", "2h")
    after = datetime.now(UTC)
    assert code == 0, err
    scheduled = _only_post(ocma, workspace_id).scheduled_at
    assert before + timedelta(hours=2) <= scheduled <= after + timedelta(hours=2)


def test_platform_options_are_given_as_platform_dot_name(
    cli_run: Run, ocma: Ocma, workspace_id: str, account_id: str
) -> None:
    argv = ("posts", "create", "Private clip", "--option", "tiktok.privacy_level=SELF_ONLY")
    code, _, err = cli_run(
        *argv, "--option", "tiktok.disable_duet=true", "--option", "x.reply_settings=following"
    )
    assert code == 0, err
    assert _only_post(ocma, workspace_id).options == {
        "tiktok": {"privacy_level": "SELF_ONLY", "disable_duet": True},
        "x": {"reply_settings": "following"},
    }
    code, _, err = cli_run("posts", "create", "Bad", "--option", "privacy_level=SELF_ONLY")
    assert code == 1 and "PLATFORM.NAME=VALUE" in err


def test_going_out_without_an_account_says_which_option_to_add(cli_run: Run, workspace_id: str) -> None:
    code, out, err = cli_run("posts", "create", "Hello", "--now")
    assert code == 1 and out == ""
    assert "needs at least one account" in err and "--account" in err and "`ocma accounts list`" in err


@pytest.mark.parametrize(
    ("argv", "advice"),
    [
        (("posts", "show", "no-such-post"), "`ocma posts list`"),
        (("posts", "cancel", "no-such-post"), "`ocma posts list`"),
        (("posts", "create", "Hi", "-a", "no-such-account", "--now"), "`ocma accounts list`"),
        (("accounts", "test", "no-such-account"), "`ocma accounts list`"),
        (("media", "show", "no-such-media"), "`ocma media upload FILE`"),
        (
            ("posts", "create", "Hi", "-a", "{account}", "--media", "no-such-media", "--now"),
            "ocma media upload",
        ),
        (("posts", "create", "Hi", "-a", "{account}", "--at", "2020-01-01T09:00"), "--now"),
        (("posts", "create", "Hi", "-a", "{account}", "--at", "next week"), "tomorrow 09:00"),
        (("workspaces", "set", "-w", "Nope", "--brand-voice", "x"), "`ocma workspaces list`"),
    ],
)
def test_cli_errors_give_cli_advice(
    cli_run: Run, account_id: str, argv: tuple[str, ...], advice: str
) -> None:
    code, _, err = cli_run(*(a.replace("{account}", account_id) for a in argv))
    assert code == 1 and err.startswith("Error: ")
    fix = next(line for line in err.splitlines() if line.startswith("Fix: "))
    assert advice in fix
    assert "/v1/" not in err and "GET " not in err and "POST " not in err


@pytest.fixture
def client(ocma: Ocma, fake: Any) -> Iterator[TestClient]:
    from ocma_core.api.app import create_app

    with TestClient(create_app(ocma, run_worker=False)) as c:
        yield c


def test_the_api_keeps_its_own_advice(client: TestClient, ocma: Ocma, workspace_id: str) -> None:
    from ocma_core.services.workspaces import create_api_key

    auth = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.EDITOR).key}"}
    missing_post = client.get("/v1/posts/no-such-post", headers=auth)
    missing_account = client.post(
        "/v1/posts", headers=auth, json={"body": "Hi", "account_ids": ["nope"], "action": "publish_now"}
    )
    missing_media = client.get("/v1/media/no-such-media", headers=auth)
    assert missing_post.status_code == missing_account.status_code == missing_media.status_code == 404
    assert "GET /v1/posts" in missing_post.json()["fix"]
    assert "GET /v1/accounts" in missing_account.json()["fix"]
    assert "POST /v1/media" in missing_media.json()["fix"]
    assert not any("ocma " in r.json()["fix"] for r in (missing_post, missing_account, missing_media))


def test_before_init_the_advice_is_ocma_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ocma_core.cli.main import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OCMA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OCMA_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    monkeypatch.setenv("OCMA_ENCRYPTION_KEYS", "")
    with pytest.raises(SystemExit) as exited:
        main(["posts", "list"])
    err = capsys.readouterr().err
    assert exited.value.code == 1
    assert "There is no OCMA database" in err and "Fix: Run `ocma init` first" in err
    assert "db upgrade" not in err


def test_media_upload_then_attach(
    cli_run: Run, ocma: Ocma, workspace_id: str, account_id: str, tmp_path: Path
) -> None:
    photo = tmp_path / "team.png"
    photo.write_bytes(png(6, 4))
    code, out, err = cli_run("media", "upload", str(photo), "--alt", "Our team")
    assert code == 0, err
    media_id = out.split(" as media ", 1)[1].split(" ", 1)[0]
    assert "image/png, 6x4" in out and f"--media {media_id}" in out
    code, out, _ = cli_run("media", "list")
    assert code == 0 and any(media_id in line and "Our team" in line for line in out.splitlines())
    code, _, err = cli_run("posts", "create", "With a photo", "-a", account_id, "--media", media_id)
    assert code == 0, err
    assert _only_post(ocma, workspace_id).media_ids == [media_id]


def test_media_upload_refuses_what_it_cannot_store(cli_run: Run, workspace_id: str, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    code, out, err = cli_run("media", "upload", str(notes))
    assert code == 1 and out == ""
    assert "notes.txt" in err and "Fix: Upload the original JPEG, PNG" in err


def test_people_read_text_not_python_dicts(cli_run: Run, account_id: str) -> None:
    code, out, _ = cli_run("posts", "create", "Hello there", "-a", account_id, "--at", "tomorrow 10:00")
    post_id = out.split()[1]
    for argv in (("posts", "show", post_id), ("status",), ("workspaces", "set", "--brand-voice", "Kind.")):
        code, out, err = cli_run(*argv)
        assert code == 0, err
        assert "{" not in out and "': " not in out, out


def test_a_platform_failure_is_an_error_with_advice_not_a_traceback(
    cli_run: Run, account_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    from ocma_core.registry import clear_caches

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("OCMA_FAKESOCIAL_API_BASE", f"http://127.0.0.1:{port}")
    clear_caches()
    code, out, err = cli_run("accounts", "test", account_id)
    assert code == 1 and out == ""
    assert err.startswith("Error: Could not reach FakeSocial") and "Fix:" in err and "try again" in err
