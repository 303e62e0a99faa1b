"""Container publishing: public media URLs really downloaded, pending containers, carousels, errors, quota."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fake_instagram import FakeInstagram
from instagram_testkit import connect
from ocma_instagram import InstagramPlatform

from ocma_core import AccountContext, ConfigError, PostContent, RateLimited, Rejected, Unconfirmed
from ocma_core.testing.conformance import run
from ocma_core.testing.fake_graph import MediaHost


@pytest.fixture
def ctx(instagram: InstagramPlatform, fake_instagram: FakeInstagram) -> AccountContext:
    return run(connect(instagram, fake_instagram))


def poll_until_done(
    platform: InstagramPlatform, ctx: AccountContext, handle: str, limit: int = 10
) -> list[bool]:
    """Ask check_pending as the engine would (no sleeping); the pending flags seen, last one final."""
    seen = []
    for _ in range(limit):
        result = run(platform.check_pending(ctx, handle))
        seen.append(result.pending)
        if not result.pending:
            return seen
    return seen


def test_an_image_is_downloaded_from_its_public_url_and_published(
    instagram: InstagramPlatform,
    fake_instagram: FakeInstagram,
    ctx: AccountContext,
    media_host: MediaHost,
    tmp_path: Path,
) -> None:
    item = media_host.add(tmp_path, alt="An orange square")
    result = run(instagram.publish(ctx, PostContent(text="Orange #bakery", media=[item])))
    assert not result.pending and result.part_ids == [result.external_id]
    assert media_host.downloads == [item.path.name]  # Meta's servers fetched the bytes from OCMA's URL
    assert fake_instagram.state.fetched == [item.public_url]
    (container,) = fake_instagram.state.containers.values()
    assert (container["caption"], container["alt_text"], container["code"]) == (
        "Orange #bakery",
        "An orange square",
        "PUBLISHED",
    )
    assert fake_instagram.published_texts() == ["Orange #bakery"]


def test_a_carousel_with_a_video_waits_as_pending_then_publishes_once(
    instagram: InstagramPlatform,
    fake_instagram: FakeInstagram,
    ctx: AccountContext,
    media_host: MediaHost,
    tmp_path: Path,
) -> None:
    items = [media_host.add(tmp_path), media_host.add(tmp_path, "video"), media_host.add(tmp_path)]
    fake_instagram.process_next(polls=3, skip=1)  # the video child is processed for a while
    result = run(instagram.publish(ctx, PostContent(text="Three in one", media=items)))
    assert result.pending and fake_instagram.published_texts() == []
    assert poll_until_done(instagram, ctx, result.external_id) == [True, True, False]
    assert fake_instagram.published_texts() == ["Three in one"]
    parent = next(c for c in fake_instagram.state.containers.values() if c["type"] == "CAROUSEL")
    assert len(parent["children"]) == 3 and all(
        fake_instagram.state.containers[c]["carousel_item"] for c in parent["children"]
    )
    assert sorted(media_host.downloads) == sorted(i.path.name for i in items)


def test_a_reel_in_progress_then_a_container_in_error_is_never_published(
    instagram: InstagramPlatform,
    fake_instagram: FakeInstagram,
    ctx: AccountContext,
    media_host: MediaHost,
    tmp_path: Path,
) -> None:
    fake_instagram.process_next(polls=1)
    reel = run(
        instagram.publish(
            ctx,
            PostContent(
                text="Reel", media=[media_host.add(tmp_path, "video")], options={"instagram_type": "reel"}
            ),
        )
    )
    assert reel.pending and poll_until_done(instagram, ctx, reel.external_id) == [False]
    assert next(iter(fake_instagram.state.media.values()))["media_product_type"] == "REELS"
    fake_instagram.process_next(polls=1, error="2207026: unsupported video format")
    broken = run(
        instagram.publish(ctx, PostContent(text="Broken", media=[media_host.add(tmp_path, "video")]))
    )
    assert broken.pending
    with pytest.raises(Rejected, match="unsupported video format"):
        run(instagram.check_pending(ctx, broken.external_id))
    assert "Broken" not in fake_instagram.published_texts()


def test_a_lost_publish_answer_is_found_not_published_again(
    instagram: InstagramPlatform,
    fake_instagram: FakeInstagram,
    ctx: AccountContext,
    media_host: MediaHost,
    tmp_path: Path,
) -> None:
    fake_instagram.process_next(polls=1)
    pending = run(
        instagram.publish(ctx, PostContent(text="Lost answer", media=[media_host.add(tmp_path, "video")]))
    )
    fake_instagram.fail_next("timeout_after_store")
    instagram.request_timeout_s = 1.0
    with pytest.raises(Unconfirmed):
        run(instagram.check_pending(ctx, pending.external_id))
    result = run(instagram.check_pending(ctx, pending.external_id))  # the engine asks again later
    assert not result.pending and fake_instagram.published_texts() == ["Lost answer"]
    assert result.external_id in fake_instagram.state.media
    assert len(fake_instagram.requests_to("POST", r"/v24.0/\w+/media_publish")) == 1


def test_the_publishing_quota_feeds_the_budgets_and_stops_at_the_limit(
    instagram: InstagramPlatform,
    fake_instagram: FakeInstagram,
    ctx: AccountContext,
    media_host: MediaHost,
    tmp_path: Path,
) -> None:
    fake_instagram.quota_total = 2
    ctx.settings["_rate_limits"] = []
    run(instagram.publish(ctx, PostContent(text="One", media=[media_host.add(tmp_path)])))
    quota = [i for i in ctx.settings["_rate_limits"] if i.limit == 2]
    assert quota and quota[0].remaining == 2 and quota[0].bucket == "publish"
    run(instagram.publish(ctx, PostContent(text="Two", media=[media_host.add(tmp_path)])))
    before = datetime.now(UTC)
    with pytest.raises(RateLimited, match="2 of 2") as info:
        run(instagram.publish(ctx, PostContent(text="Three", media=[media_host.add(tmp_path)])))
    assert info.value.retry_at >= before + timedelta(minutes=59)
    assert fake_instagram.published_texts() == ["One", "Two"]


def test_a_loopback_media_url_names_what_to_configure(
    fake_instagram: FakeInstagram, ctx: AccountContext, media_host: MediaHost, tmp_path: Path
) -> None:
    from instagram_testkit import instagram_env

    remote = InstagramPlatform(
        env={**instagram_env(fake_instagram), "OCMA_INSTAGRAM_API_BASE": "https://graph.instagram.com"}
    )
    with pytest.raises(ConfigError, match="loopback or private") as info:
        run(remote.publish(ctx, PostContent(text="x", media=[media_host.add(tmp_path)])))
    assert "OCMA_PUBLIC_URL" in str(info.value)


def test_caption_and_media_rules(instagram: InstagramPlatform, media_host: MediaHost, tmp_path: Path) -> None:
    image = media_host.add(tmp_path)
    video = media_host.add(tmp_path, "video")

    def codes(text: str, media: list, **options: str) -> set[str]:  # type: ignore[type-arg]
        return {p.code for p in instagram.validate(PostContent(text=text, media=media, options=options))}

    assert codes("Fine #one @two", [image]) == set()
    assert "too_long" in codes("a" * 2201, [image])
    assert "too_many_hashtags" in codes(" ".join(f"#t{i}" for i in range(31)), [image])
    assert "too_many_mentions" in codes(" ".join(f"@u{i}" for i in range(21)), [image])
    assert "too_many_media" in codes("x", [image] * 11)
    assert "reel_needs_video" in codes("x", [image], instagram_type="reel")
    assert codes("x", [video], instagram_type="reel") == set()
    assert codes("x", [image, video]) == set()  # a carousel mixes images and videos
    assert codes("x", []) != set()  # media is required


def test_location_collaborators_and_cover_are_passed_on(
    instagram: InstagramPlatform,
    fake_instagram: FakeInstagram,
    ctx: AccountContext,
    media_host: MediaHost,
    tmp_path: Path,
) -> None:
    options = {
        "location_id": "7640348500",
        "collaborators": ["ada", "grace"],
        "instagram_type": "reel",
        "cover_url": "",
    }
    run(
        instagram.publish(
            ctx, PostContent(text="Together", media=[media_host.add(tmp_path, "video")], options=options)
        )
    )
    (create,) = fake_instagram.requests_to("POST", r"/v24.0/\w+/media")
    form = create.form()
    assert (form["location_id"], form["collaborators"], form["media_type"]) == (
        "7640348500",
        "ada,grace",
        "REELS",
    )
    assert "cover_url" not in form
