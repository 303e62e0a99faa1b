"""Media: one-shot image and GIF upload with alt text, chunked video with STATUS polling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_x import FakeX
from fake_x_base import parse_multipart
from ocma_x import XPlatform
from ocma_x import media as media_module
from x_test_support import item, png

from ocma_core import AccountContext, PostContent, Rejected
from ocma_core.testing.conformance import run


def test_image_with_alt_text(
    x_platform: XPlatform, x_ctx: AccountContext, fake_x: FakeX, tmp_path: Path
) -> None:
    """One-shot multipart upload (tweet_image), alt text via POST /2/media/metadata, id in media.media_ids."""
    photo = item(tmp_path / "photo.png", png(3, 2), "image/png", alt="A grey test image")
    result = run(x_platform.publish(x_ctx, PostContent(text="With a picture", media=[photo])))
    [upload] = fake_x.requests_to("POST", "/2/media/upload")
    fields, files = parse_multipart(upload)
    assert fields == {"media_category": "tweet_image"} and files["media"] == photo.read_bytes()
    [meta] = fake_x.requests_to("POST", "/2/media/metadata")
    media_id = json.loads(meta.body)["id"]
    assert json.loads(meta.body) == {"id": media_id, "metadata": {"alt_text": {"text": "A grey test image"}}}
    assert fake_x.state.media[media_id]["alt_text"] == "A grey test image"
    assert fake_x.state.posts[result.external_id]["media_ids"] == [media_id]


def test_gif_uses_tweet_gif(
    x_platform: XPlatform, x_ctx: AccountContext, fake_x: FakeX, tmp_path: Path
) -> None:
    """An animated GIF is uploaded with media_category tweet_gif."""
    gif = item(tmp_path / "a.gif", b"GIF89a\x02\x00\x02\x00" + b"\x00" * 20, "image/gif")
    run(x_platform.publish(x_ctx, PostContent(text="", media=[gif])))
    fields, _ = parse_multipart(fake_x.requests_to("POST", "/2/media/upload")[0])
    assert fields["media_category"] == "tweet_gif"
    assert not fake_x.requests_to("POST", "/2/media/metadata")  # no alt text given, no call


def test_chunked_video_with_status_polling(
    x_platform: XPlatform,
    x_ctx: AccountContext,
    fake_x: FakeX,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """INIT (JSON), APPEND per segment (multipart), FINALIZE, STATUS polled after check_after_secs."""
    monkeypatch.setattr(media_module, "CHUNK_BYTES", 1000)
    fake_x.check_after_secs = 3
    fake_x.processing_polls = 2
    data = bytes(range(256)) * 10  # 2560 bytes -> 3 segments
    video = item(tmp_path / "clip.mp4", data, "video/mp4")
    result = run(x_platform.publish(x_ctx, PostContent(text="Watch this", media=[video])))
    [init] = fake_x.requests_to("POST", "/2/media/upload/initialize")
    assert json.loads(init.body) == {
        "media_type": "video/mp4",
        "total_bytes": 2560,
        "media_category": "tweet_video",
    }
    appends = fake_x.requests_to("POST", r"/2/media/upload/\d+/append")
    assert [parse_multipart(a)[0]["segment_index"] for a in appends] == ["0", "1", "2"]
    assert b"".join(parse_multipart(a)[1]["media"] for a in appends) == data
    statuses = fake_x.requests_to("GET", "/2/media/upload")
    assert len(statuses) == 3 and all(s.query["command"] == "STATUS" for s in statuses)
    assert x_platform.slept == [3.0, 3.0, 3.0]  # type: ignore[attr-defined]
    media_id = statuses[0].query["media_id"]
    assert fake_x.state.media[media_id]["state"] == "succeeded"
    assert fake_x.state.posts[result.external_id]["media_ids"] == [media_id]


def test_failed_processing_is_rejected(
    x_platform: XPlatform, x_ctx: AccountContext, fake_x: FakeX, tmp_path: Path
) -> None:
    """processing_info.state failed: the video is refused and nothing is posted."""
    fake_x.fail_processing = True
    video = item(tmp_path / "bad.mp4", b"\x00" * 100, "video/mp4")
    with pytest.raises(Rejected, match="could not process"):
        run(x_platform.publish(x_ctx, PostContent(text="Broken video", media=[video])))
    assert fake_x.published_texts() == []


def test_not_an_image_is_rejected(x_platform: XPlatform, x_ctx: AccountContext, tmp_path: Path) -> None:
    """X refuses bytes that are not an image (400 invalid-request): Rejected."""
    fake_png = item(tmp_path / "fake.png", b"not really a png", "image/png")
    with pytest.raises(Rejected, match="invalid"):
        run(x_platform.publish(x_ctx, PostContent(text="Bad image", media=[fake_png])))


@pytest.mark.parametrize(
    ("mimes", "code"),
    [
        (["image/png"] * 5, "too_many_images"),
        (["image/gif", "image/png"], "gif_alone"),
        (["video/mp4", "image/png"], "mixed_media"),
    ],
)
def test_media_rules(x_platform: XPlatform, tmp_path: Path, mimes: list[str], code: str) -> None:
    """Up to 4 images, or one GIF, or one video."""
    items = [item(tmp_path / f"m{i}", b"x", mime) for i, mime in enumerate(mimes)]
    assert code in [p.code for p in x_platform.validate(PostContent(text="m", media=items))]
