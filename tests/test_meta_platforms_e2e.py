"""Facebook, Instagram and Threads end to end: connect as a user would, post, and let the engine publish.

Each test registers the real plugin, points it at the plugin's own fake (OCMA_<NAME>_* variables), serves
OCMA itself on loopback so the fakes download media from OCMA's signed public URLs, connects through
ocma_core.services.accounts and publishes with the real worker (pending containers followed by
check_pending, lost answers resolved by looking up).
"""

from __future__ import annotations

import asyncio
import importlib
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from live_server import live_server
from PIL import Image
from tests_support import run_worker

from ocma_core.context import Ocma
from ocma_core.db.models import Account, AccountStatus, TargetStatus
from ocma_core.db.types import utcnow
from ocma_core.engine import pending
from ocma_core.plugins import PluginHost
from ocma_core.services import accounts, posts
from ocma_core.services.media import store_media
from ocma_core.services.post_input import PostInput

PLATFORMS = Path(__file__).resolve().parents[1] / "plugins" / "platforms"
for _name in ("facebook", "instagram", "threads"):
    if str(PLATFORMS / _name / "tests") not in sys.path:
        sys.path.insert(0, str(PLATFORMS / _name / "tests"))

import fake_facebook  # noqa: E402
import fake_instagram  # noqa: E402
import fake_threads  # noqa: E402

TERMINAL = (TargetStatus.PUBLISHED, TargetStatus.FAILED, TargetStatus.HELD)
MAKE = {
    "facebook": fake_facebook.FakeFacebook,
    "instagram": fake_instagram.FakeInstagram,
    "threads": fake_threads.FakeThreads,
}
IDS = {"facebook": fake_facebook.APP_ID, "instagram": fake_instagram.APP_ID, "threads": fake_threads.APP_ID}
SECRETS = {
    "facebook": fake_facebook.APP_SECRET,
    "instagram": fake_instagram.APP_SECRET,
    "threads": fake_threads.APP_SECRET,
}


@dataclass
class Live:
    """A platform's fake, running, with an account connected to it through the core."""

    name: str
    fake: Any
    account_id: str


def _env(name: str, fake: Any) -> dict[str, str]:
    prefix = f"OCMA_{name.upper()}_"
    env = {f"{prefix}API_BASE": fake.base_url, f"{prefix}AUTH_BASE": fake.base_url, f"{prefix}TIMEOUT_S": "1"}
    env.update({f"{prefix}APP_ID": IDS[name], f"{prefix}APP_SECRET": SECRETS[name]})
    env[f"{prefix}WEBHOOK_VERIFY_TOKEN"] = f"verify-{name}"
    if name == "instagram":
        env[f"{prefix}OAUTH_API_BASE"] = fake.base_url
    return env


@pytest.fixture
def live(
    request: pytest.FixtureRequest,
    ocma: Ocma,
    workspace_id: str,
    plugin_host: PluginHost,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Live]:
    """The plugin named by the test's parameter, its fake and OCMA's media server running, an account connected."""
    from ocma_core.api.app import create_app
    from ocma_core.registry import clear_caches

    name = request.param
    plugin_host.register(importlib.import_module(f"ocma_{name}"), name=f"ocma_{name}")
    monkeypatch.setattr(pending, "FIRST_POLL", timedelta(milliseconds=50))
    monkeypatch.setattr(pending, "MAX_POLL", timedelta(milliseconds=100))
    with MAKE[name]() as fake, live_server(create_app(ocma, run_worker=False)) as public:
        monkeypatch.setattr(ocma.settings, "public_url", public)
        for key, value in _env(name, fake).items():
            monkeypatch.setenv(key, value)
        clear_caches()
        try:
            url = accounts.start_connect(ocma, workspace_id, name)
            code, state = fake.authorize(url)
            account = asyncio.run(accounts.complete_connect(ocma, name, state=state, code=code))
            yield Live(name, fake, account.id)
        finally:
            clear_caches()


def _jpeg(ocma: Ocma, workspace_id: str, colour: str) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(buffer, "JPEG")
    return store_media(ocma, workspace_id, buffer.getvalue(), filename=f"{colour}.jpg").id


def _video(ocma: Ocma, workspace_id: str, tag: bytes) -> str:
    data = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + tag * 64
    return store_media(ocma, workspace_id, data, filename="clip.mp4").id


def _post(ocma: Ocma, workspace_id: str, live: Live, text: str, **kw: Any) -> str:
    data = PostInput(body=text, account_ids=[live.account_id], action=kw.pop("action", "publish_now"), **kw)
    return posts.create_post(ocma, workspace_id, data).id


def _run(ocma: Ocma, post_id: str, timeout: float = 60.0) -> Any:
    run_worker(ocma, lambda: posts.targets_of(ocma, post_id)[0].status in TERMINAL, timeout=timeout)
    return posts.targets_of(ocma, post_id)[0]


@pytest.mark.parametrize("live", ["facebook", "instagram", "threads"], indirect=True)
def test_connected_account_gets_a_scheduled_post_published_once(
    ocma: Ocma, workspace_id: str, live: Live
) -> None:
    with ocma.session() as s:
        account = s.get(Account, live.account_id)
        assert (
            account is not None
            and account.platform == live.name
            and account.status is AccountStatus.CONNECTED
        )
    media = [_jpeg(ocma, workspace_id, "orange")] if live.name == "instagram" else []
    text = f"Scheduled for {live.name} by OCMA"
    post_id = _post(
        ocma,
        workspace_id,
        live,
        text,
        action="schedule",
        scheduled_at=utcnow() + timedelta(seconds=1),
        media_ids=media,
    )
    target = _run(ocma, post_id)
    assert target.status is TargetStatus.PUBLISHED, target.last_error
    assert live.fake.published_texts() == [text]
    if media:
        assert len(live.fake.state.fetched) == 1 and "/media/" in live.fake.state.fetched[0]


@pytest.mark.parametrize("live", ["instagram"], indirect=True)
def test_a_carousel_and_a_reel_stay_in_progress_then_publish_and_an_error_fails(
    ocma: Ocma, workspace_id: str, live: Live
) -> None:
    fake = live.fake
    fake.process_next(polls=3, skip=1)  # the carousel's video child is processed for a while
    carousel = _post(
        ocma,
        workspace_id,
        live,
        "Carousel",
        media_ids=[
            _jpeg(ocma, workspace_id, "red"),
            _video(ocma, workspace_id, b"a"),
            _jpeg(ocma, workspace_id, "blue"),
        ],
    )
    target = _run(ocma, carousel)
    assert target.status is TargetStatus.PUBLISHED, target.last_error
    assert target.external_id in fake.state.media and target.url

    fake.process_next(polls=4)
    reel = _post(
        ocma,
        workspace_id,
        live,
        "Reel",
        media_ids=[_video(ocma, workspace_id, b"b")],
        options={"instagram": {"instagram_type": "reel"}},
    )
    target = _run(ocma, reel)
    assert target.status is TargetStatus.PUBLISHED, target.last_error
    assert fake.state.media[target.external_id]["media_product_type"] == "REELS"

    fake.process_next(polls=1, error="2207026: The video format is not supported")
    broken = _post(ocma, workspace_id, live, "Broken", media_ids=[_video(ocma, workspace_id, b"c")])
    target = _run(ocma, broken)
    assert target.status is TargetStatus.FAILED
    assert "The video format is not supported" in (target.last_error or "")
    assert fake.published_texts() == ["Carousel", "Reel"]  # each once; the broken one never
    assert len(fake.requests_to("POST", r"/v24.0/\w+/media_publish")) == 2


@pytest.mark.parametrize("live", ["threads"], indirect=True)
def test_a_thread_whose_reply_is_lost_is_completed_once(ocma: Ocma, workspace_id: str, live: Live) -> None:
    parts = ["1/3 A thread on Threads", "2/3 the middle part", "3/3 and the end"]
    live.fake.fail_next("timeout_after_store", skip=1)  # part 2 is stored, its answer never comes
    target = _run(ocma, _post(ocma, workspace_id, live, parts[0], thread=parts[1:]))
    assert target.status is TargetStatus.PUBLISHED, target.last_error
    assert live.fake.published_texts() == parts
    ids = target.part_ids
    assert [live.fake.parent_of(i) for i in ids] == [None, ids[0], ids[1]]


@pytest.mark.parametrize("live", ["facebook"], indirect=True)
def test_usage_at_95_percent_makes_the_engine_wait(ocma: Ocma, workspace_id: str, live: Live) -> None:
    live.fake.usage = {"call_count": 96, "total_time": 20, "total_cputime": 10}
    texts = ["Goes out, and Meta says 96%", "Waits for the usage window"]
    post_ids = [_post(ocma, workspace_id, live, text) for text in texts]
    run_worker(ocma, lambda: False, timeout=3.0)  # one worker: its budgets learn from the first answer
    statuses = sorted(posts.targets_of(ocma, p)[0].status.value for p in post_ids)
    assert statuses == ["published", "queued"]
    assert len(live.fake.published_texts()) == 1
    assert len(live.fake.requests_to("POST", r"/v24.0/\d+/feed")) == 1


@pytest.mark.parametrize("live", ["facebook", "instagram", "threads"], indirect=True)
def test_webhook_handshake_and_a_signed_comment_becomes_an_event(
    ocma: Ocma, workspace_id: str, live: Live
) -> None:
    import hashlib
    import hmac
    import json

    from fastapi.testclient import TestClient
    from sqlmodel import select

    from ocma_core.api.app import create_app
    from ocma_core.db.models import Notification

    with ocma.session() as s:
        account = s.get(Account, live.account_id)
        assert account is not None
        external_id = account.external_id
    obj = {"facebook": "page", "instagram": "instagram", "threads": "threads"}[live.name]
    field = {"facebook": "feed", "instagram": "comments", "threads": "replies"}[live.name]
    value = (
        {"item": "comment", "verb": "add", "post_id": "1_2", "message": "Hello"}
        if obj == "page"
        else {"id": "c1", "text": "Hello", "media": {"id": "m1"}, "root_post": {"id": "m1"}}
    )
    body = json.dumps(
        {
            "object": obj,
            "entry": [{"id": external_id, "time": 1, "changes": [{"field": field, "value": value}]}],
        }
    ).encode()
    signature = "sha256=" + hmac.new(SECRETS[live.name].encode(), body, hashlib.sha256).hexdigest()
    with TestClient(create_app(ocma, run_worker=False)) as client:
        query = {
            "hub.mode": "subscribe",
            "hub.verify_token": f"verify-{live.name}",
            "hub.challenge": "1158201444",
        }
        answer = client.get(f"/webhooks/{live.name}", params=query)
        assert (answer.status_code, answer.text) == (200, "1158201444")
        assert (
            client.get(f"/webhooks/{live.name}", params={**query, "hub.verify_token": "guess"}).status_code
            == 403
        )
        forged = client.post(
            f"/webhooks/{live.name}", content=body, headers={"X-Hub-Signature-256": "sha256=00"}
        )
        assert forged.status_code == 401
        delivered = client.post(
            f"/webhooks/{live.name}", content=body, headers={"X-Hub-Signature-256": signature}
        )
        assert delivered.status_code == 200 and delivered.json()["events"] == 1
    with ocma.session() as s:
        (event,) = s.exec(select(Notification).where(Notification.kind == "webhook.comment")).all()
    assert event.payload["account_id"] == live.account_id and event.workspace_id == workspace_id
