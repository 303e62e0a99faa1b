# ruff: noqa: F811  (the live fixture is imported from pinterest_live)
"""Pinterest end to end: connect through the core as a user would, then let the engine publish an image pin,
a carousel and a video pin (register, S3-style upload, GET /media polled through the pending mechanism), each
exactly once, with every request the plugin made valid under Pinterest's OpenAPI description.

The plugin's own fake (plugins/platforms/pinterest/tests) validates every request; OCMA itself is served on
loopback so the fake downloads image pins from OCMA's signed public media URLs, as Pinterest does.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from pinterest_live import fake_pinterest, live  # noqa: F401
from tests_support import run_worker

from ocma_core.context import Ocma
from ocma_core.db.models import Account, TargetStatus
from ocma_core.services import accounts, posts
from ocma_core.services.media import store_media
from ocma_core.services.post_input import PostInput

TERMINAL = (TargetStatus.PUBLISHED, TargetStatus.FAILED, TargetStatus.HELD)


def _jpeg(ocma: Ocma, workspace_id: str, colour: str) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(buffer, "JPEG")
    return store_media(ocma, workspace_id, buffer.getvalue(), filename=f"{colour}.jpg").id


def _video(ocma: Ocma, workspace_id: str) -> tuple[str, bytes]:
    data = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 64
    return store_media(ocma, workspace_id, data, filename="clip.mp4").id, data


def _publish(ocma: Ocma, workspace_id: str, account_id: str, text: str, **kw: Any) -> Any:
    data = PostInput(body=text, account_ids=[account_id], action="publish_now", **kw)
    post_id = posts.create_post(ocma, workspace_id, data).id
    run_worker(ocma, lambda: posts.targets_of(ocma, post_id)[0].status in TERMINAL, timeout=60.0)
    return posts.targets_of(ocma, post_id)[0]


def test_image_carousel_and_video_pins_publish_once_and_every_request_is_on_spec(
    ocma: Ocma, workspace_id: str, live: tuple[fake_pinterest.FakePinterest, str]
) -> None:
    fake, account_id = live
    with ocma.session() as s:
        account = s.get(Account, account_id)
        assert account is not None
        default_board = account.settings["default_board_id"]
    assert fake.state.boards[default_board]["name"] == "Spring recipes"
    other = next(b for b in fake.state.boards if b != default_board)

    image = _publish(
        ocma, workspace_id, account_id, "Lemon tart, step by step",
        media_ids=[_jpeg(ocma, workspace_id, "yellow")],
        options={"pinterest": {"title": "Lemon tart", "link": "https://example.com/tart"}},
    )  # fmt: skip
    assert image.status is TargetStatus.PUBLISHED, image.last_error
    pin = fake.state.pins[image.external_id]
    assert pin["board_id"] == default_board and pin["title"] == "Lemon tart"
    assert image.url == f"https://www.pinterest.com/pin/{image.external_id}/"

    carousel = _publish(
        ocma, workspace_id, account_id, "Three tarts",
        media_ids=[_jpeg(ocma, workspace_id, c) for c in ("red", "green", "blue")],
        options={"pinterest": {"board_id": other}},
    )  # fmt: skip
    assert carousel.status is TargetStatus.PUBLISHED, carousel.last_error
    pin = fake.state.pins[carousel.external_id]
    assert pin["board_id"] == other and pin["media"]["media_type"] == "multiple_images"
    assert len(pin["media"]["items"]) == 3

    video_id, data = _video(ocma, workspace_id)
    video = _publish(ocma, workspace_id, account_id, "The tart, in 20 seconds", media_ids=[video_id])
    assert video.status is TargetStatus.PUBLISHED, video.last_error
    pin = fake.state.pins[video.external_id]
    assert pin["media"]["media_type"] == "video" and pin["board_id"] == default_board
    assert list(fake.state.uploads.values()) == [data]  # the file arrived whole, once
    assert len(fake.requests_to("GET", r"/v5/media/\d+")) == 4  # processing x3, then succeeded

    assert fake.published_texts() == ["Lemon tart, step by step", "Three tarts", "The tart, in 20 seconds"]
    assert fake.state.spec_errors == []
    checked = {op for op, _, _ in fake.state.checked}
    assert checked >= {
        "oauth/token",
        "boards/list",
        "user_account/get",
        "pins/create",
        "media/create",
        "media/get",
    }
    api_calls = [r for r in fake.requests if r.path.startswith("/v5/")]
    assert fake.state.valid_requests == len(api_calls)  # every API request was validated, and passed


def test_disconnecting_revokes_the_tokens_at_pinterest(
    ocma: Ocma, workspace_id: str, live: tuple[fake_pinterest.FakePinterest, str]
) -> None:
    fake, account_id = live
    with ocma.session() as s:
        account = s.get(Account, account_id)
        assert account is not None
        ctx = accounts.account_context(ocma, account)
    accounts.disconnect_account(ocma, workspace_id, account_id)
    assert fake.state.revoked == [ctx.tokens.refresh_token]
    assert ctx.tokens.access_token not in fake.state.access  # the grant's access tokens ended with it
    revokes = fake.requests_to("POST", "/v5/oauth/token/revoke")
    assert len(revokes) == 1 and revokes[0].header("authorization").startswith("Basic ")
    assert fake.state.spec_errors == []


def test_a_failed_revocation_still_disconnects(
    ocma: Ocma,
    workspace_id: str,
    live: tuple[fake_pinterest.FakePinterest, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, account_id = live
    monkeypatch.setenv("OCMA_PINTEREST_CLIENT_SECRET", "wrong")  # Pinterest refuses the client: 401
    from ocma_core.registry import clear_caches

    clear_caches()
    account = accounts.disconnect_account(ocma, workspace_id, account_id)
    assert account.status.value == "disconnected" and fake.state.revoked == []


def test_a_video_pinterest_cannot_process_fails_with_the_reason_and_is_not_sent_again(
    ocma: Ocma, workspace_id: str, live: tuple[fake_pinterest.FakePinterest, str]
) -> None:
    fake, account_id = live
    fake.fail_video = True
    video_id, _ = _video(ocma, workspace_id)
    target = _publish(ocma, workspace_id, account_id, "Never pinned", media_ids=[video_id])
    assert target.status is TargetStatus.FAILED
    assert "could not process the video" in (target.last_error or "")
    assert not fake.state.pins and len(fake.requests_to("POST", "/v5/media")) == 1
    assert fake.state.spec_errors == []
