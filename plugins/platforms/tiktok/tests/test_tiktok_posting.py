"""Publishing to TikTok: chunk rules, uploads, pull-from-URL, inbox drafts, photos, creator checks, status."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from fake_tiktok import FakeTikTok
from ocma_tiktok import TikTokPlatform, upload
from tiktok_testkit import MediaHost, connect, item_for, mp4_bytes, tiktok_env

from ocma_core import AccountContext, PostContent, Rejected, Transient
from ocma_core.testing.conformance import run

MiB = 1024 * 1024
MB = 1_000_000
PUBLIC = {"privacy_level": "PUBLIC_TO_EVERYONE"}


# ----- TikTok's chunk rules ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("size", "chunk", "count", "last"),
    [
        (3 * MiB, 32 * MiB, 1, 3 * MiB),  # under 5 MB: one chunk, the whole file
        (60 * MB, 32 * MiB, 1, 60 * MB),  # up to 64 MB may go whole
        (100 * MB, 64 * MB, 2, 50 * MB),  # over 64 MB is never one chunk
        (150 * MiB, 32 * MiB, 4, 150 * MiB - 3 * 32 * MiB),  # the last chunk takes the remainder
        (150 * MiB, 64 * MB, 2, 150 * MiB - 64 * MB),
        (12 * MiB, 5 * MiB, 2, 7 * MiB),
        (4 * 1024**3, 5 * MiB, 819, 4 * 1024**3 - 818 * 5 * MiB),
    ],
)
def test_chunk_plans_keep_tiktoks_rules(size: int, chunk: int, count: int, last: int) -> None:
    plan = upload.plan(size, chunk)
    assert (plan.count, plan.ranges()[-1][1] - plan.ranges()[-1][0] + 1) == (count, last)
    assert upload.rule_break(plan.video_size, plan.chunk_size, plan.count) == ""
    ranges = plan.ranges()
    assert ranges[0][0] == 0 and ranges[-1][1] == size - 1
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(ranges))


def test_a_plan_over_1000_chunks_grows_its_chunks() -> None:
    plan = upload.plan(10_000 * 5 * MiB + 17, 5 * MiB)
    assert plan.count <= 1000 and upload.rule_break(plan.video_size, plan.chunk_size, plan.count) == ""


@pytest.mark.parametrize(
    ("size", "chunk", "count", "why"),
    [
        (20 * MiB, 4 * MiB, 5, "outside"),  # chunks under 5 MiB
        (200 * MB, 65 * MB, 3, "outside"),  # chunks over 64 MB
        (20 * MiB, 5 * MiB, 3, "floor"),  # count is not floor(size / chunk)
        (20 * MiB, 20 * MiB - 1, 1, "whole"),  # one chunk that is not the whole file
        (80 * MB, 80 * MB, 1, "whole"),  # one chunk over 64 MB
        (5001 * 5 * MiB, 5 * MiB, 5001, "1-1000"),
    ],
)
def test_rule_breaks_are_named(size: int, chunk: int, count: int, why: str) -> None:
    assert why in upload.rule_break(size, chunk, count)


def test_invalid_chunk_sizes_are_refused() -> None:
    with pytest.raises(Rejected):
        upload.plan(100 * MiB, 4 * MiB)
    with pytest.raises(Rejected):
        upload.plan(0)


def test_mp4_duration_is_read_from_mvhd(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(mp4_bytes(12.5, 1024))
    assert upload.mp4_duration_s(path) == 12.5
    path.write_bytes(b"not a video")
    assert upload.mp4_duration_s(path) is None


# ----- publishing against the fake ---------------------------------------------------------------------
def _ctx(tiktok: TikTokPlatform, fake: FakeTikTok) -> AccountContext:
    return run(connect(tiktok, fake))


def test_a_video_goes_up_in_chunks_the_fake_reassembles(fake_tiktok: FakeTikTok, tmp_path: Path) -> None:
    tiktok = TikTokPlatform(env=tiktok_env(fake_tiktok, OCMA_TIKTOK_CHUNK_SIZE=str(5 * MiB)))
    ctx = _ctx(tiktok, fake_tiktok)
    data = mp4_bytes(30, 17 * MiB + 12_345, seed=7)
    video = item_for(tmp_path / "big.mp4", data, "video/mp4")
    result = run(tiktok.publish(ctx, PostContent(text="Big one", media=[video], options=PUBLIC)))
    assert not result.pending and result.external_id.isdigit()
    assert result.url == f"https://www.tiktok.com/@ocma.bakery/video/{result.external_id}"
    puts = fake_tiktok.requests_to("PUT", r"/upload/.+/")
    assert [p.header("content-range") for p in puts] == [
        f"bytes 0-{5 * MiB - 1}/{len(data)}",
        f"bytes {5 * MiB}-{10 * MiB - 1}/{len(data)}",
        f"bytes {10 * MiB}-{len(data) - 1}/{len(data)}",
    ]
    (publish,) = fake_tiktok.state.publishes.values()
    assert bytes(publish.received) == data
    init = fake_tiktok.requests_to("POST", r"/v2/post/publish/video/init/")[0].json()
    assert init["source_info"] == {
        "source": "FILE_UPLOAD",
        "video_size": len(data),
        "chunk_size": 5 * MiB,
        "total_chunk_count": 3,
    }
    assert init["post_info"]["title"] == "Big one" and init["post_info"]["disable_stitch"] is True


def test_pull_from_url_and_an_inbox_draft(
    tiktok: TikTokPlatform, fake_tiktok: FakeTikTok, media_host: MediaHost, tmp_path: Path
) -> None:
    ctx = _ctx(tiktok, fake_tiktok)
    clip = media_host.add(tmp_path, "video")
    options = {**PUBLIC, "source": "PULL_FROM_URL"}
    result = run(tiktok.publish(ctx, PostContent(text="Pulled", media=[clip], options=options)))
    assert result.external_id.isdigit() and fake_tiktok.state.fetched == [clip.public_url]
    draft = run(tiktok.publish(ctx, PostContent(text="Draft", media=[clip], options={"mode": "inbox"})))
    assert draft.raw["inbox"] and draft.external_id.startswith("v_pub_file")
    inbox = fake_tiktok.requests_to("POST", r"/v2/post/publish/inbox/video/init/")
    assert len(inbox) == 1 and "post_info" not in inbox[0].json()


def test_photos_are_pulled_and_png_is_refused_clearly(
    tiktok: TikTokPlatform, fake_tiktok: FakeTikTok, media_host: MediaHost, tmp_path: Path
) -> None:
    ctx = _ctx(tiktok, fake_tiktok)
    photos = [media_host.add(tmp_path, "jpeg"), media_host.add(tmp_path, "webp")]
    content = PostContent(text="Two photos\nand a description", media=photos, options=PUBLIC)
    assert tiktok.validate(content) == []
    result = run(tiktok.publish(ctx, content))
    assert result.external_id.isdigit()
    body = fake_tiktok.requests_to("POST", r"/v2/post/publish/content/init/")[0].json()
    assert body["media_type"] == "PHOTO" and body["post_mode"] == "DIRECT_POST"
    assert body["source_info"]["photo_images"] == [p.public_url for p in photos]
    assert body["post_info"]["title"] == "Two photos"
    png = PostContent(text="A PNG", media=[media_host.add(tmp_path, "png")], options=PUBLIC)
    problems = tiktok.validate(png)
    assert [p.code for p in problems] == ["png_not_supported"]
    assert "JPEG or WebP only" in problems[0].message and "convert it to JPEG" in problems[0].message


def test_validation_needs_a_privacy_level_and_one_video(
    tiktok: TikTokPlatform, media_host: MediaHost, tmp_path: Path
) -> None:
    clip = media_host.add(tmp_path, "video")
    codes = [p.code for p in tiktok.validate(PostContent(text="x", media=[clip]))]
    assert codes == ["privacy_level_required"]
    both = PostContent(text="x", media=[clip, media_host.add(tmp_path)], options={"privacy_level": "NOBODY"})
    codes = [p.code for p in tiktok.validate(both)]
    assert "mixed_media" in codes and "privacy_level" in codes
    assert "media_required" in [p.code for p in tiktok.validate(PostContent(text="text only"))]
    assert tiktok.validate(PostContent(text="x", media=[clip], options={"mode": "inbox"})) == []


def test_the_post_is_checked_against_creator_info(
    tiktok: TikTokPlatform, fake_tiktok: FakeTikTok, tmp_path: Path
) -> None:
    ctx = _ctx(tiktok, fake_tiktok)
    long_clip = item_for(tmp_path / "long.mp4", mp4_bytes(900, 64), "video/mp4")
    with pytest.raises(Rejected, match=r"900 s long; TikTok lets @ocma\.bakery post videos of at most 600 s"):
        run(tiktok.publish(ctx, PostContent(text="Long", media=[long_clip], options=PUBLIC)))
    clip = item_for(tmp_path / "clip.mp4", mp4_bytes(5, 64), "video/mp4")
    friends = {"privacy_level": "FOLLOWER_OF_CREATOR"}
    with pytest.raises(Rejected, match="only as PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, SELF_ONLY"):
        run(tiktok.publish(ctx, PostContent(text="Friends", media=[clip], options=friends)))
    stitch = {**PUBLIC, "disable_stitch": False}
    with pytest.raises(Rejected, match="turned stitches off on TikTok"):
        run(tiktok.publish(ctx, PostContent(text="Stitch", media=[clip], options=stitch)))
    assert not fake_tiktok.requests_to("POST", r"/v2/post/publish/video/init/")  # nothing was created


def test_an_unaudited_app_is_told_it_may_only_post_privately(
    tiktok: TikTokPlatform, fake_tiktok: FakeTikTok, tmp_path: Path
) -> None:
    ctx = _ctx(tiktok, fake_tiktok)
    fake_tiktok.audited = False
    clip = item_for(tmp_path / "clip.mp4", mp4_bytes(5, 64), "video/mp4")
    with pytest.raises(Rejected) as info:
        run(tiktok.publish(ctx, PostContent(text="Public", media=[clip], options=PUBLIC)))
    assert "unaudited_client_can_only_post_to_private_accounts" in info.value.message
    assert "may only post to private accounts" in info.value.message
    private = run(
        tiktok.publish(ctx, PostContent(text="Me", media=[clip], options={"privacy_level": "SELF_ONLY"}))
    )
    assert not private.pending and private.external_id.startswith("v_pub_file")  # no public id for SELF_ONLY


def test_spam_risk_is_rejected_in_tiktoks_words(
    tiktok: TikTokPlatform, fake_tiktok: FakeTikTok, tmp_path: Path
) -> None:
    ctx = _ctx(tiktok, fake_tiktok)
    fake_tiktok.fail_next("spam")
    clip = item_for(tmp_path / "clip.mp4", mp4_bytes(5, 64), "video/mp4")
    with pytest.raises(Rejected, match="daily post cap from the API is reached") as info:
        run(tiktok.publish(ctx, PostContent(text="Again", media=[clip], options=PUBLIC)))
    assert info.value.code == "spam_risk_too_many_posts"


def test_moderation_keeps_it_pending_then_it_completes_or_fails(
    tiktok: TikTokPlatform, fake_tiktok: FakeTikTok, tmp_path: Path
) -> None:
    ctx = _ctx(tiktok, fake_tiktok)
    clip = item_for(tmp_path / "clip.mp4", mp4_bytes(5, 64), "video/mp4")
    fake_tiktok.moderate_next(polls=4)
    result = run(tiktok.publish(ctx, PostContent(text="Moderated", media=[clip], options=PUBLIC)))
    notes = [result.raw["note"]]
    while result.pending:
        result = run(tiktok.check_pending(ctx, result.external_id))
        notes.append(result.raw.get("note", result.raw["status"]))
    assert notes == ["processing_upload", "processing_upload", "in moderation", "PUBLISH_COMPLETE"]
    assert result.external_id.isdigit()
    fake_tiktok.moderate_next(polls=2, fail_reason="frame_rate_check_failed")
    pending = run(tiktok.publish(ctx, PostContent(text="Broken", media=[clip], options=PUBLIC)))
    assert pending.pending
    with pytest.raises(Rejected, match="frame_rate_check_failed"):
        run(tiktok.check_pending(ctx, pending.external_id))


def test_a_lost_chunk_answer_never_posts_twice(fake_tiktok: FakeTikTok, tmp_path: Path) -> None:
    env = tiktok_env(fake_tiktok, OCMA_TIKTOK_CHUNK_SIZE=str(5 * MiB), OCMA_TIKTOK_TIMEOUT_S="1")
    tiktok = TikTokPlatform(env=env)
    ctx = _ctx(tiktok, fake_tiktok)
    data = mp4_bytes(10, 11 * MiB, seed=3)
    content = PostContent(
        text="Chunks", media=[item_for(tmp_path / "v.mp4", data, "video/mp4")], options=PUBLIC
    )
    fake_tiktok.lost_chunk_answers = {1}  # the first chunk is stored, its answer never comes
    with pytest.raises(Transient, match=r"chunk 1 of 2.*never had the whole video"):
        run(tiktok.publish(ctx, content))
    assert fake_tiktok.published_texts() == []  # an upload that stopped half-way is never posted
    fake_tiktok.lost_chunk_answers = {2}  # now the last chunk's answer is lost: TikTok has the whole file
    result = run(tiktok.publish(ctx, content))
    assert result.external_id.isdigit() and fake_tiktok.published_texts() == ["Chunks"]


def test_a_lost_init_answer_for_an_upload_is_transient(fake_tiktok: FakeTikTok, tmp_path: Path) -> None:
    tiktok = TikTokPlatform(env=tiktok_env(fake_tiktok, OCMA_TIKTOK_TIMEOUT_S="1"))
    ctx = _ctx(tiktok, fake_tiktok)
    clip = item_for(tmp_path / "clip.mp4", mp4_bytes(5, 64), "video/mp4")
    fake_tiktok.fail_next("timeout_after_store")
    with pytest.raises(Transient, match="nothing was uploaded"):
        run(tiktok.publish(ctx, PostContent(text="Lost init", media=[clip], options=PUBLIC)))
    assert fake_tiktok.published_texts() == []
