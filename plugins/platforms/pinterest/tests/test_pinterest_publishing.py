"""Pins against FakePinterest: image URL, base64, carousels, video through the pending mechanism, validation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fake_pinterest import FakePinterest
from ocma_pinterest import PinterestPlatform
from pinterest_testkit import MediaHost, item, jpeg

from ocma_core import AccountContext, PostContent, Rejected, Unconfirmed
from ocma_core.testing.conformance import run


@pytest.fixture
def media_host() -> Iterator[MediaHost]:
    """A host serving the images Pinterest downloads."""
    with MediaHost() as host:
        yield host


def _body(fake: FakePinterest) -> dict[str, object]:
    body = fake.requests_to("POST", "/v5/pins")[-1].json()
    assert isinstance(body, dict)
    return body


def test_an_image_by_url_with_title_link_and_alt_text(
    pinterest: PinterestPlatform,
    pinterest_ctx: AccountContext,
    fake_pinterest: FakePinterest,
    media_host: MediaHost,
    tmp_path: Path,
) -> None:
    url = media_host.put("tart.jpg", jpeg("yellow"))
    image = item(tmp_path / "tart.jpg", jpeg("yellow"), "image/jpeg", alt="A lemon tart", public_url=url)
    options = {"title": "Lemon tart", "link": "https://example.com/tart"}
    result = run(
        pinterest.publish(pinterest_ctx, PostContent(text="Step by step", media=[image], options=options))
    )
    assert result.url == f"https://www.pinterest.com/pin/{result.external_id}/"
    body = _body(fake_pinterest)
    assert body["media_source"] == {"source_type": "image_url", "url": url}
    assert (body["title"], body["link"], body["alt_text"]) == (
        "Lemon tart",
        "https://example.com/tart",
        "A lemon tart",
    )
    assert body["board_id"] == pinterest_ctx.settings["default_board_id"]
    assert fake_pinterest.state.spec_errors == []


def test_images_without_a_public_url_go_inline_and_a_carousel_keeps_its_order(
    pinterest: PinterestPlatform, pinterest_ctx: AccountContext, fake_pinterest: FakePinterest, tmp_path: Path
) -> None:
    images = [item(tmp_path / f"{c}.jpg", jpeg(c), "image/jpeg") for c in ("red", "green", "blue")]
    run(pinterest.publish(pinterest_ctx, PostContent(text="One", media=images[:1])))
    assert _body(fake_pinterest)["media_source"]["source_type"] == "image_base64"  # type: ignore[index]
    result = run(pinterest.publish(pinterest_ctx, PostContent(text="Three", media=images)))
    source = _body(fake_pinterest)["media_source"]
    assert source["source_type"] == "multiple_image_base64" and len(source["items"]) == 3  # type: ignore[index]
    assert fake_pinterest.state.pins[result.external_id]["creative_type"] == "CAROUSEL"
    assert fake_pinterest.state.spec_errors == []


def test_a_carousel_by_url_and_a_chosen_board_section(
    pinterest: PinterestPlatform,
    pinterest_ctx: AccountContext,
    fake_pinterest: FakePinterest,
    media_host: MediaHost,
    tmp_path: Path,
) -> None:
    images = [
        item(tmp_path / f"{c}.jpg", jpeg(c), "image/jpeg", public_url=media_host.put(f"{c}.jpg", jpeg(c)))
        for c in ("red", "blue")
    ]
    board = pinterest_ctx.settings["default_board_id"]
    section = fake_pinterest.state.sections[board][0]["id"]
    options = {"board_id": board, "board_section_id": section}
    result = run(pinterest.publish(pinterest_ctx, PostContent(text="Two", media=images, options=options)))
    assert _body(fake_pinterest)["media_source"]["source_type"] == "multiple_image_urls"  # type: ignore[index]
    assert fake_pinterest.state.pins[result.external_id]["board_section_id"] == section


def test_a_video_is_uploaded_then_pinned_once_processing_succeeded(
    pinterest: PinterestPlatform, pinterest_ctx: AccountContext, fake_pinterest: FakePinterest, tmp_path: Path
) -> None:
    data = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40
    clip = item(tmp_path / "clip.mp4", data, "video/mp4")
    content = PostContent(text="Watch", media=[clip], options={"cover_image_key_frame_time": 2})
    first = run(pinterest.publish(pinterest_ctx, content))
    assert first.pending and first.external_id.startswith("media:") and not fake_pinterest.state.pins
    assert list(fake_pinterest.state.uploads.values()) == [data]
    upload = fake_pinterest.requests_to("POST", "/s3-upload/")[0]
    assert not upload.header("authorization")  # S3 gets the policy fields, never the user's token
    while (result := run(pinterest.check_pending_content(pinterest_ctx, first.external_id, content))).pending:
        assert len(fake_pinterest.requests_to("GET", r"/v5/media/\d+")) < 10
    source = _body(fake_pinterest)["media_source"]
    assert source == {
        "source_type": "video_id",
        "media_id": first.external_id[6:],
        "cover_image_key_frame_time": 2,
    }
    again = run(pinterest.check_pending_content(pinterest_ctx, first.external_id, content))
    assert (
        again.external_id == result.external_id and len(fake_pinterest.state.pins) == 1
    )  # looked up, not re-pinned
    assert fake_pinterest.state.spec_errors == []


def test_a_failed_video_is_refused_with_the_reason(
    pinterest: PinterestPlatform, pinterest_ctx: AccountContext, fake_pinterest: FakePinterest, tmp_path: Path
) -> None:
    fake_pinterest.fail_video, fake_pinterest.video_polls = True, 0
    content = PostContent(text="Broken", media=[item(tmp_path / "b.mp4", b"\x00" * 64, "video/mp4")])
    handle = run(pinterest.publish(pinterest_ctx, content)).external_id
    with pytest.raises(Rejected, match="could not process the video"):
        run(pinterest.check_pending_content(pinterest_ctx, handle, content))
    assert not fake_pinterest.state.pins


def test_no_board_is_refused_before_anything_is_uploaded(
    pinterest: PinterestPlatform, pinterest_ctx: AccountContext, fake_pinterest: FakePinterest, tmp_path: Path
) -> None:
    pinterest_ctx.settings.pop("default_board_id")
    content = PostContent(text="Where?", media=[item(tmp_path / "c.mp4", b"\x00" * 64, "video/mp4")])
    with pytest.raises(Rejected, match="board"):
        run(pinterest.publish(pinterest_ctx, content))
    assert not fake_pinterest.requests_to("POST", "/v5/media")
    problems = pinterest.validate_for_account(content, pinterest_ctx.settings)
    assert [p.code for p in problems] == ["board_required"] and "OCMA launches" in problems[0].message


def test_pin_fields_are_validated_before_publishing(pinterest: PinterestPlatform, tmp_path: Path) -> None:
    image = item(tmp_path / "a.jpg", jpeg(), "image/jpeg", alt="x" * 501)
    options = {"title": "t" * 101, "link": "ftp://example.com", "board_id": "abc"}
    codes = {p.code for p in pinterest.validate(PostContent(text="d" * 801, media=[image], options=options))}
    assert codes >= {"too_long", "title_too_long", "bad_link", "bad_board_id", "alt_text_too_long"}
    six = [item(tmp_path / f"{i}.jpg", jpeg(), "image/jpeg") for i in range(6)]
    assert "too_many_images" in {p.code for p in pinterest.validate(PostContent(text="x", media=six))}
    assert "media_required" in {p.code for p in pinterest.validate(PostContent(text="text alone"))}


def test_find_published_and_delete(
    pinterest: PinterestPlatform, pinterest_ctx: AccountContext, fake_pinterest: FakePinterest, tmp_path: Path
) -> None:
    content = PostContent(text="Find me", media=[item(tmp_path / "f.jpg", jpeg(), "image/jpeg")])
    since = datetime.now(UTC) - timedelta(seconds=5)
    result = run(pinterest.publish(pinterest_ctx, content))
    found = run(pinterest.find_published(pinterest_ctx, content, since))
    assert found is not None and found.external_id == result.external_id
    run(pinterest.delete(pinterest_ctx, result.external_id))
    run(pinterest.delete(pinterest_ctx, result.external_id))  # already gone: fine
    assert run(pinterest.find_published(pinterest_ctx, content, since)) is None


def test_a_trial_app_is_told_about_the_sandbox_and_standard_access(
    pinterest: PinterestPlatform, pinterest_ctx: AccountContext, fake_pinterest: FakePinterest, tmp_path: Path
) -> None:
    fake_pinterest.trial_app = True
    content = PostContent(text="Trial", media=[item(tmp_path / "t.jpg", jpeg(), "image/jpeg")])
    with pytest.raises(Rejected, match="Apply for Standard access") as refused:
        run(pinterest.publish(pinterest_ctx, content))
    assert "Apps with Trial access may not create Pins in production" in refused.value.message


def test_a_lost_answer_to_the_video_pin_is_found_not_pinned_again(
    pinterest: PinterestPlatform, pinterest_ctx: AccountContext, fake_pinterest: FakePinterest, tmp_path: Path
) -> None:
    fake_pinterest.video_polls = 0
    content = PostContent(text="Once", media=[item(tmp_path / "o.mp4", b"\x00" * 64, "video/mp4")])
    handle = run(pinterest.publish(pinterest_ctx, content)).external_id
    pinterest.request_timeout_s = 1.0  # type: ignore[misc]
    fake_pinterest.fail_next("timeout_after_store")  # the pin is stored, its answer comes too late
    with pytest.raises(Unconfirmed):
        run(pinterest.check_pending_content(pinterest_ctx, handle, content))
    result = run(pinterest.check_pending_content(pinterest_ctx, handle, content))  # the engine asks again
    assert list(fake_pinterest.state.pins) == [result.external_id]


def test_the_destination_an_approval_covers_is_the_board_the_pin_goes_to(
    pinterest: PinterestPlatform,
) -> None:
    """The default board (and section) decides where a pin goes, so it is the destination; a post's own board
    option wins over it, as in the pin's body."""
    content = PostContent(text="Tart")
    recipes = {"default_board_id": "111", "default_board_section_id": "5"}
    assert pinterest.destination(content, recipes) == {"board_id": "111", "board_section_id": "5"}
    assert pinterest.destination(content, {"default_board_id": "222"}) == {
        "board_id": "222",
        "board_section_id": None,
    }
    chosen = PostContent(text="Tart", options={"board_id": "333"})
    assert pinterest.destination(chosen, recipes) == {"board_id": "333", "board_section_id": None}
    assert pinterest.destination(content, {}) == {"board_id": None, "board_section_id": None}
