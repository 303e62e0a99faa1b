"""TikTok end to end: connect as a user would, then let the engine publish a 150 MB video in chunks, a photo
post, and a post TikTok fails — against FakeTikTok, with OCMA serving its own media URLs on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import random
import struct
import sys
import time
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
from ocma_core.db.models import Account, TargetStatus
from ocma_core.engine import pending
from ocma_core.plugins import PluginHost
from ocma_core.services import accounts, posts
from ocma_core.services.media import store_media, store_upload
from ocma_core.services.post_input import PostInput

TESTS = Path(__file__).resolve().parents[1] / "plugins" / "platforms" / "tiktok" / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from fake_tiktok import CLIENT_KEY, CLIENT_SECRET, OPEN_ID, FakeTikTok  # noqa: E402

TERMINAL = (TargetStatus.PUBLISHED, TargetStatus.FAILED, TargetStatus.HELD)
MiB = 1024 * 1024
VIDEO_BYTES = 150 * MiB
PUBLIC = {"tiktok": {"privacy_level": "PUBLIC_TO_EVERYONE"}}


@dataclass
class Live:
    """FakeTikTok, running, with an account connected to it through the core."""

    fake: FakeTikTok
    account_id: str


@pytest.fixture
def live(
    ocma: Ocma, workspace_id: str, plugin_host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Live]:
    """The TikTok plugin, its fake and OCMA's media server running, an account connected through the core."""
    import ocma_tiktok

    from ocma_core.api.app import create_app
    from ocma_core.registry import clear_caches

    plugin_host.register(ocma_tiktok, name="ocma_tiktok")
    monkeypatch.setattr(pending, "FIRST_POLL", timedelta(milliseconds=50))
    monkeypatch.setattr(pending, "MAX_POLL", timedelta(milliseconds=100))
    with FakeTikTok() as fake, live_server(create_app(ocma, run_worker=False)) as public:
        monkeypatch.setattr(ocma.settings, "public_url", public)
        env = {
            "OCMA_TIKTOK_API_BASE": fake.base_url,
            "OCMA_TIKTOK_AUTH_BASE": fake.base_url,
            "OCMA_TIKTOK_CLIENT_KEY": CLIENT_KEY,
            "OCMA_TIKTOK_CLIENT_SECRET": CLIENT_SECRET,
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        clear_caches()
        try:
            url = accounts.start_connect(ocma, workspace_id, "tiktok")
            code, state = fake.authorize(url)
            account = asyncio.run(accounts.complete_connect(ocma, "tiktok", state=state, code=code))
            yield Live(fake, account.id)
        finally:
            clear_caches()


def _big_video(ocma: Ocma, workspace_id: str, tmp: Path) -> tuple[str, str]:
    """A 150 MiB MP4 (a 30-second `mvhd`, seeded random `mdat`) stored through the upload path; (id, sha256)."""
    header = struct.pack(">I4s4sI8s", 24, b"ftyp", b"isom", 512, b"isommp42")
    mvhd_body = struct.pack(">B3xIIII", 0, 0, 0, 1000, 30_000) + bytes(80)
    mvhd = struct.pack(">I4s", 8 + len(mvhd_body), b"mvhd") + mvhd_body
    header += struct.pack(">I4s", 8 + len(mvhd), b"moov") + mvhd
    payload = VIDEO_BYTES - len(header) - 8
    header += struct.pack(">I4s", 8 + payload, b"mdat")
    path, digest, rng = tmp / "big.mp4", hashlib.sha256(header), random.Random(150)
    with path.open("wb") as out:
        out.write(header)
        left = payload
        while left:
            piece = rng.randbytes(min(left, 8 * MiB))
            digest.update(piece)
            out.write(piece)
            left -= len(piece)
    with path.open("rb") as source:
        media = store_upload(ocma, workspace_id, source, filename="big.mp4")
    assert media.size == VIDEO_BYTES
    return media.id, digest.hexdigest()


def _jpeg(ocma: Ocma, workspace_id: str, colour: str) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(buffer, "JPEG")
    return store_media(ocma, workspace_id, buffer.getvalue(), filename=f"{colour}.jpg").id


def _post(ocma: Ocma, workspace_id: str, live: Live, text: str, **kw: Any) -> str:
    data = PostInput(body=text, account_ids=[live.account_id], action="publish_now", **kw)
    return posts.create_post(ocma, workspace_id, data).id


def _run(ocma: Ocma, post_id: str, timeout: float = 90.0) -> Any:
    run_worker(ocma, lambda: posts.targets_of(ocma, post_id)[0].status in TERMINAL, timeout=timeout)
    return posts.targets_of(ocma, post_id)[0]


def test_a_150_mb_video_in_moderation_with_a_token_rotation_then_a_photo_post(
    ocma: Ocma, workspace_id: str, live: Live, tmp_path: Path
) -> None:
    fake = live.fake
    media_id, digest = _big_video(ocma, workspace_id, tmp_path)
    fake.moderate_next(polls=5)  # processed, then in moderation, for five status reads
    fake.expire_at_status_read = 3  # the access token runs out half-way: the engine refreshes and goes on
    before = dict(fake.state.refresh)
    target = _run(ocma, _post(ocma, workspace_id, live, "Launch day", media_ids=[media_id], options=PUBLIC))
    assert target.status is TargetStatus.PUBLISHED, target.last_error
    assert target.external_id.isdigit() and target.url.endswith(f"/video/{target.external_id}")
    (publish,) = fake.state.publishes.values()
    assert len(publish.received) == VIDEO_BYTES and hashlib.sha256(publish.received).hexdigest() == digest
    ranges = [r.header("content-range") for r in fake.requests_to("PUT", r"/upload/.+/")]
    chunk = 32 * MiB
    assert ranges == [
        f"bytes 0-{chunk - 1}/{VIDEO_BYTES}",
        f"bytes {chunk}-{2 * chunk - 1}/{VIDEO_BYTES}",
        f"bytes {2 * chunk}-{3 * chunk - 1}/{VIDEO_BYTES}",
        f"bytes {3 * chunk}-{VIDEO_BYTES - 1}/{VIDEO_BYTES}",
    ]
    assert len(fake.requests_to("POST", r"/v2/post/publish/video/init/")) == 1
    statuses = fake.requests_to("POST", r"/v2/post/publish/status/fetch/")
    assert len(statuses) >= 6  # five reads in processing/moderation, one refused with the expired token
    assert list(before) == list(fake.state.dead_refresh)  # the first refresh token was used up...
    with ocma.session() as s:
        account = s.get(Account, live.account_id)
        assert account is not None
        ctx = accounts.account_context(ocma, account)
    assert ctx.tokens.refresh_token in fake.state.refresh  # ...and the rotated one stored in its place
    assert ctx.tokens.refresh_expires_at is not None

    photo = _post(
        ocma,
        workspace_id,
        live,
        "Fresh bread",
        media_ids=[_jpeg(ocma, workspace_id, "orange")],
        options=PUBLIC,
    )
    target = _run(ocma, photo)
    assert target.status is TargetStatus.PUBLISHED, target.last_error
    assert len(fake.state.fetched) == 1 and "/media/" in fake.state.fetched[0]
    assert fake.published_texts() == ["Launch day", "Fresh bread"]


def test_a_failed_publish_ends_failed_with_tiktoks_reason_and_is_never_repeated(
    ocma: Ocma, workspace_id: str, live: Live
) -> None:
    live.fake.moderate_next(polls=3, fail_reason="picture_size_check_failed")
    post_id = _post(
        ocma, workspace_id, live, "Blurry", media_ids=[_jpeg(ocma, workspace_id, "grey")], options=PUBLIC
    )
    target = _run(ocma, post_id)
    assert target.status is TargetStatus.FAILED
    assert "picture_size_check_failed" in (target.last_error or "")
    run_worker(ocma, lambda: False, timeout=1.0)  # a worker keeps running: nothing is published again
    assert len(live.fake.requests_to("POST", r"/v2/post/publish/content/init/")) == 1
    assert posts.targets_of(ocma, post_id)[0].status is TargetStatus.FAILED


def _signed(body: bytes, stamp: int, secret: str = CLIENT_SECRET) -> dict[str, str]:
    signature = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"TikTok-Signature": f"t={stamp},s={signature}"}


def test_a_signed_publish_webhook_completes_a_post_in_moderation_early(
    ocma: Ocma, workspace_id: str, live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from ocma_core.api.app import create_app

    monkeypatch.setattr(pending, "FIRST_POLL", timedelta(hours=1))  # without the webhook: asked in an hour
    monkeypatch.setattr(pending, "MAX_POLL", timedelta(hours=1))
    live.fake.moderate_next(polls=2)
    jpeg = _jpeg(ocma, workspace_id, "yellow")
    post_id = _post(ocma, workspace_id, live, "Moderated", media_ids=[jpeg], options=PUBLIC)
    run_worker(ocma, lambda: posts.targets_of(ocma, post_id)[0].status is TargetStatus.PENDING, timeout=30)
    target = posts.targets_of(ocma, post_id)[0]
    assert target.status is TargetStatus.PENDING, target.last_error
    publish_id = (target.external_id or "").split(":")[0]
    content = json.dumps({"publish_id": publish_id, "publish_type": "DIRECT_PUBLISH"})
    event = {
        "client_key": CLIENT_KEY,
        "event": "post.publish.complete",
        "create_time": 1,
        "user_openid": OPEN_ID,
    }
    body = json.dumps({**event, "content": content}).encode()
    now = int(time.time())
    with TestClient(create_app(ocma, run_worker=False)) as client:
        assert (
            client.post(
                "/webhooks/tiktok", content=body, headers={"TikTok-Signature": f"t={now},s=00"}
            ).status_code
            == 401
        )
        stale = client.post("/webhooks/tiktok", content=body, headers=_signed(body, now - 3600))
        assert stale.status_code == 401
        signed = client.post("/webhooks/tiktok", content=body, headers=_signed(body, now))
        assert signed.status_code == 200 and signed.json()["events"] == 1
    target = _run(ocma, post_id, timeout=30)
    assert target.status is TargetStatus.PUBLISHED, target.last_error
    assert target.external_id and target.external_id.isdigit()


def test_disconnecting_revokes_the_authorisation_at_tiktok(ocma: Ocma, workspace_id: str, live: Live) -> None:
    with ocma.session() as s:
        account = s.get(Account, live.account_id)
        assert account is not None
        token = accounts.account_context(ocma, account).tokens.access_token
    disconnected = accounts.disconnect_account(ocma, workspace_id, live.account_id)
    assert disconnected.status.value == "disconnected" and not disconnected.access_token_enc
    assert live.fake.state.revoked == [token] and not live.fake.state.refresh


def test_authorization_removed_marks_the_account_for_reconnection(ocma: Ocma, live: Live) -> None:
    from fastapi.testclient import TestClient

    from ocma_core.api.app import create_app
    from ocma_core.db.models import AccountStatus

    event = {
        "client_key": CLIENT_KEY,
        "event": "authorization.removed",
        "create_time": 1,
        "user_openid": OPEN_ID,
    }
    body = json.dumps({**event, "content": json.dumps({"reason": 1})}).encode()
    with TestClient(create_app(ocma, run_worker=False)) as client:
        answer = client.post("/webhooks/tiktok", content=body, headers=_signed(body, int(time.time())))
        assert answer.status_code == 200
    with ocma.session() as s:
        account = s.get(Account, live.account_id)
        assert account is not None and account.status is AccountStatus.NEEDS_RECONNECT
        assert "the user disconnected the app in TikTok" in (account.last_error or "")
