"""Feed posts, photo posts, attached_media, delete, usage headers and the Graph error mapping."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from facebook_testkit import connect
from fake_facebook import PAGES, FakeFacebook
from ocma_facebook import FacebookPlatform
from PIL import Image

from ocma_core import AccountContext, MediaItem, PostContent, RateLimited, Rejected
from ocma_core.testing.conformance import run

PAGE = PAGES[0][0]


def photo(tmp_path: Path, name: str, colour: str, alt: str = "") -> MediaItem:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), colour).save(buffer, "PNG")
    path = tmp_path / name
    path.write_bytes(buffer.getvalue())
    data = path.read_bytes()
    return MediaItem(
        path=path,
        mime_type="image/png",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        alt_text=alt,
    )


@pytest.fixture
def ctx(facebook: FacebookPlatform, fake_facebook: FakeFacebook) -> AccountContext:
    return run(connect(facebook, fake_facebook))


def test_text_and_link_post_to_the_feed(
    facebook: FacebookPlatform, fake_facebook: FakeFacebook, ctx: AccountContext
) -> None:
    result = run(
        facebook.publish(ctx, PostContent(text="Fresh bread", options={"link": "https://example.org/b"}))
    )
    assert result.external_id.startswith(f"{PAGE}_") and result.part_ids == [result.external_id]
    assert result.url == f"https://www.facebook.com/{result.external_id}"
    post = fake_facebook.state.posts[result.external_id]
    assert (post["message"], post["link"]) == ("Fresh bread", "https://example.org/b")
    (request,) = fake_facebook.requests_to("POST", rf"/v24.0/{PAGE}/feed")
    assert request.header("content-type").startswith("application/x-www-form-urlencoded")


def test_one_photo_is_uploaded_as_bytes_with_caption_and_alt_text(
    facebook: FacebookPlatform, fake_facebook: FakeFacebook, ctx: AccountContext, tmp_path: Path
) -> None:
    item = photo(tmp_path, "a.png", "red", alt="A red square")
    result = run(facebook.publish(ctx, PostContent(text="Red", media=[item])))
    post = fake_facebook.state.posts[result.external_id]
    (photo_id,) = post["photos"]
    stored = fake_facebook.state.photos[photo_id]
    assert stored["bytes"] == item.read_bytes() and stored["alt"] == "A red square"
    assert post["message"] == "Red"


def test_several_photos_become_one_post_with_attached_media(
    facebook: FacebookPlatform, fake_facebook: FakeFacebook, ctx: AccountContext, tmp_path: Path
) -> None:
    items = [photo(tmp_path, f"{c}.png", c) for c in ("red", "green", "blue")]
    result = run(facebook.publish(ctx, PostContent(text="Three", media=items)))
    post = fake_facebook.state.posts[result.external_id]
    assert [fake_facebook.state.photos[p]["bytes"] for p in post["photos"]] == [i.read_bytes() for i in items]
    assert fake_facebook.published_texts() == ["Three"]  # the unpublished uploads are no posts
    (feed,) = fake_facebook.requests_to("POST", rf"/v24.0/{PAGE}/feed")
    form = feed.form()
    assert [json.loads(form[f"attached_media[{i}]"])["media_fbid"] for i in range(3)] == post["photos"]


def test_validation_refuses_two_videos_media_in_comments_and_empty_posts(
    facebook: FacebookPlatform, tmp_path: Path
) -> None:
    video = MediaItem(path=tmp_path / "v.mp4", mime_type="video/mp4", size=10, sha256="0")
    codes = {
        p.code
        for p in facebook.validate(
            PostContent(text="x", media=[video, video], thread=[PostContent(text="y", media=[video])])
        )
    }
    assert {"video_alone", "comment_media"} <= codes
    assert "empty" in {p.code for p in facebook.validate(PostContent(text=" "))}
    assert not facebook.validate(PostContent(text="fine"))


def test_delete_and_deleting_again(
    facebook: FacebookPlatform, fake_facebook: FakeFacebook, ctx: AccountContext
) -> None:
    result = run(facebook.publish(ctx, PostContent(text="Gone soon")))
    run(facebook.delete(ctx, result.external_id))
    assert "Gone soon" not in fake_facebook.published_texts()
    run(facebook.delete(ctx, result.external_id))  # already gone: not an error


def test_usage_headers_are_recorded_for_the_budgets(
    facebook: FacebookPlatform, fake_facebook: FakeFacebook, ctx: AccountContext
) -> None:
    fake_facebook.usage = {"call_count": 96, "total_time": 10, "total_cputime": 5}
    fake_facebook.regain_minutes = 4
    ctx.settings["_rate_limits"] = []
    run(facebook.publish(ctx, PostContent(text="Busy day")))
    readings = {info.scope: info for info in ctx.settings["_rate_limits"]}
    assert readings["app"].remaining == 0 and readings["account"].remaining == 0
    assert readings["account"].reset_at is not None


def test_graph_errors_map_onto_typed_failures(
    facebook: FacebookPlatform, fake_facebook: FakeFacebook, ctx: AccountContext
) -> None:
    fake_facebook.fail_next("rate_limit", retry_after_s=600)
    with pytest.raises(RateLimited, match=r"\(#32\) Page request limit reached"):
        run(facebook.publish(ctx, PostContent(text="Too many")))
    with pytest.raises(Rejected, match="Missing message or attachment"):
        run(
            facebook.call(
                "POST", f"{PAGE}/feed", ctx, bucket="publish", creates=True, data={"published": "true"}
            )
        )


def _video(tmp_path: Path, size: int = 350) -> MediaItem:
    data = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * (size // 256 + 1)
    data = data[:size]
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    return MediaItem(path=path, mime_type="video/mp4", size=size, sha256=hashlib.sha256(data).hexdigest())


def test_a_video_is_uploaded_in_chunks_and_followed_until_ready(
    facebook: FacebookPlatform, fake_facebook: FakeFacebook, ctx: AccountContext, tmp_path: Path
) -> None:
    fake_facebook.video_chunk, fake_facebook.video_polls = 100, 2
    item = _video(tmp_path)
    result = run(
        facebook.publish(ctx, PostContent(text="Watch this", media=[item], options={"video_title": "Bake"}))
    )
    assert result.pending and result.external_id.startswith("video:")
    transfers = [
        r for r in fake_facebook.requests_to("POST", rf"/v24.0/{PAGE}/videos") if b"transfer" in r.body
    ]
    assert len(transfers) == 4  # 350 bytes in chunks of 100
    (video,) = fake_facebook.state.videos.values()
    assert video["data"] == item.read_bytes()
    assert run(facebook.check_pending(ctx, result.external_id)).pending
    done = run(facebook.check_pending(ctx, result.external_id))
    assert not done.pending and fake_facebook.published_texts() == ["Watch this"]
    assert done.external_id == video["post_id"] and done.url and "/videos/" in done.url


def test_a_video_meta_cannot_process_fails_with_its_reason(
    facebook: FacebookPlatform, fake_facebook: FakeFacebook, ctx: AccountContext, tmp_path: Path
) -> None:
    fake_facebook.video_error = "The video file you selected is in a format that we don't support."
    with pytest.raises(Rejected, match="format that we don't support"):
        run(facebook.publish(ctx, PostContent(text="Broken", media=[_video(tmp_path)])))
    assert fake_facebook.published_texts() == []


def test_a_lost_finish_answer_is_found_not_uploaded_again(
    facebook: FacebookPlatform, fake_facebook: FakeFacebook, ctx: AccountContext, tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    from ocma_core import Unconfirmed

    content = PostContent(text="Lost finish", media=[_video(tmp_path)])
    fake_facebook.fail_next("timeout_after_store")
    facebook.request_timeout_s = 1.0
    with pytest.raises(Unconfirmed):
        run(facebook.publish(ctx, content))
    found = run(facebook.find_published(ctx, content, datetime.now(UTC) - timedelta(minutes=1)))
    assert found is not None and fake_facebook.published_texts() == ["Lost finish"]
    assert len(fake_facebook.state.videos) == 1


def test_a_two_part_post_gets_its_follow_up_as_the_pages_first_comment(
    facebook: FacebookPlatform, fake_facebook: FakeFacebook, ctx: AccountContext
) -> None:
    content = PostContent(
        text="New menu today", thread=[PostContent(text="Full menu: https://example.org/menu")]
    )
    result = run(facebook.publish(ctx, content))
    post_id, comment_id = result.part_ids
    assert fake_facebook.published_texts() == ["New menu today"]
    assert fake_facebook.comment_texts(post_id) == ["Full menu: https://example.org/menu"]
    assert fake_facebook.parent_of(comment_id) == post_id
    assert [p.code for p in facebook.validate(PostContent(text="a", thread=[PostContent(text="b")] * 2))] == [
        "thread_too_long"
    ]


def test_a_lost_comment_answer_is_found_and_never_posted_twice(
    facebook: FacebookPlatform, fake_facebook: FakeFacebook, ctx: AccountContext
) -> None:
    from datetime import UTC, datetime, timedelta

    from ocma_core import Unconfirmed

    content = PostContent(text="Lost comment", thread=[PostContent(text="The follow-up")])
    since = datetime.now(UTC) - timedelta(seconds=5)
    fake_facebook.fail_next(
        "timeout_after_store", skip=1
    )  # the post goes through, the comment's answer is lost
    facebook.request_timeout_s = 1.0
    with pytest.raises(Unconfirmed) as info:
        run(facebook.publish(ctx, content))
    assert len(info.value.parts_out) == 1
    found = run(facebook.find_published(ctx, content, since))
    assert found is not None and found.complete(content)
    assert fake_facebook.comment_texts(found.part_ids[0]) == ["The follow-up"]
    only_post = run(
        facebook.find_published(
            ctx, PostContent(text="Lost comment", thread=[PostContent(text="other")]), since
        )
    )
    assert only_post is not None and len(only_post.part_ids) == 1
    done = run(
        facebook.continue_thread(
            ctx, PostContent(text="Lost comment", thread=[PostContent(text="other")]), only_post
        )
    )
    assert len(done.part_ids) == 2 and fake_facebook.comment_texts(found.part_ids[0]) == [
        "The follow-up",
        "other",
    ]


def test_a_refused_comment_deletes_the_post_again(
    facebook: FacebookPlatform, fake_facebook: FakeFacebook, ctx: AccountContext
) -> None:
    with pytest.raises(Rejected, match="deleted again"):
        run(facebook.publish(ctx, PostContent(text="Whole or nothing", thread=[PostContent(text="")])))
    assert fake_facebook.published_texts() == []
