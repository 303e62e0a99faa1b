"""TikTok options are checked when a post is created or scheduled: a bad one is refused up front (422, naming
the option and what it takes), never queued to fail in the worker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ocma_tiktok import TikTokPlatform
from tiktok_testkit import MediaHost

from ocma_core import PostContent

PUBLIC = {"privacy_level": "PUBLIC_TO_EVERYONE"}


@pytest.mark.parametrize(
    ("options", "code", "words"),
    [
        ({"privacy": "SELF_ONLY"}, "unknown_option", "TikTok has no option 'privacy'"),
        ({"disable_comment": "yes"}, "bad_disable_comment", "set it to true or false"),
        ({"is_aigc": 1}, "bad_is_aigc", "true or false"),
        ({"video_cover_timestamp_ms": "1s"}, "bad_video_cover_timestamp_ms", "a whole number from 0"),
        ({"photo_cover_index": -1}, "bad_photo_cover_index", "a whole number from 0"),
        ({"title": 7}, "bad_title", "title is text"),
        ({"mode": "later"}, "mode", "mode is one of direct, inbox, not 'later'"),
    ],
)
def test_a_bad_option_is_a_problem_that_names_it(
    tiktok: TikTokPlatform,
    media_host: MediaHost,
    tmp_path: Path,
    options: dict[str, Any],
    code: str,
    words: str,
) -> None:
    clip = media_host.add(tmp_path, "video")
    problems = tiktok.validate(PostContent(text="x", media=[clip], options={**PUBLIC, **options}))
    assert [p.code for p in problems] == [code]
    assert words in problems[0].message


def test_the_photo_cover_must_be_one_of_the_photos(
    tiktok: TikTokPlatform, media_host: MediaHost, tmp_path: Path
) -> None:
    photos = [media_host.add(tmp_path), media_host.add(tmp_path)]
    options = {**PUBLIC, "photo_cover_index": 2}
    problems = tiktok.validate(PostContent(text="x", media=photos, options=options))
    assert [(p.code, p.message) for p in problems] == [
        ("bad_photo_cover_index", "photo_cover_index counts from 0 and the post has 2 photo(s): use 0-1.")
    ]
    fine = {**PUBLIC, "photo_cover_index": 1, "disable_comment": True, "auto_add_music": False}
    assert tiktok.validate(PostContent(text="x", media=photos, options=fine)) == []


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    """OCMA with only the TikTok plugin, a workspace, its owner's key and a connected TikTok account."""
    import ocma_tiktok
    from cryptography.fernet import Fernet

    from ocma_core.api.app import create_app
    from ocma_core.app import Ocma
    from ocma_core.app.plugins import Settings
    from ocma_core.db.engine import dispose_engines
    from ocma_core.db.models import Account, Role
    from ocma_core.plugins import PluginHost, reset_host
    from ocma_core.services.workspaces import create_api_key, create_workspace

    monkeypatch.setenv("OCMA_DATA_DIR", str(tmp_path))
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'ocma.db'}",
        encryption_keys=Fernet.generate_key().decode(),
        public_url="http://127.0.0.1:8000",
        weekly_report_at="off",
        metrics_interval_s=0,
        _env_file=None,  # type: ignore[call-arg]
    )
    host = PluginHost()
    host.register(ocma_tiktok, name="tiktok", distribution="ocma-tiktok")
    reset_host(host)
    ocma = Ocma(settings)
    ocma.migrate(auto_upgrade_empty=True)
    workspace = create_workspace(ocma, "Bakery", timezone="Europe/Berlin", owner_email="o@example.com")
    key = create_api_key(ocma, workspace.id, role=Role.OWNER).key
    with ocma.session() as session:
        account = Account(
            workspace_id=workspace.id,
            platform="tiktok",
            external_id="open-1",
            handle="ocma.bakery",
            access_token_enc=ocma.vault.encrypt("never used: nothing is published"),
        )
        session.add(account)
        session.flush()
        account_id = account.id
    try:
        with TestClient(create_app(ocma, run_worker=False)) as client:
            yield client, {"Authorization": f"Bearer {key}"}, account_id
    finally:
        reset_host(None)
        dispose_engines()


def test_a_bad_option_is_refused_when_the_post_is_scheduled(
    api: tuple[TestClient, dict[str, str], str],
) -> None:
    client, auth, account_id = api
    body = {
        "body": "Fresh bread",
        "account_ids": [account_id],
        "action": "schedule",
        "scheduled_at": "2099-01-01T09:00:00+00:00",
        "options": {"tiktok": {**PUBLIC, "disable_comment": "no"}},
    }
    answer = client.post("/v1/posts", headers=auth, json=body)
    assert answer.status_code == 422, answer.text
    problems = answer.json()["problems"]
    bad = [p for p in problems if p["code"] == "bad_disable_comment"]
    assert bad and bad[0]["platform"] == "tiktok"
    assert bad[0]["message"] == "disable_comment is a switch: set it to true or false (JSON), not 'no'."
    assert client.get("/v1/posts", headers=auth).json() == []  # nothing waits to fail in the worker
