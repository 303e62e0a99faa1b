"""Threads specifics: counting, options, media containers in a thread, quota, insights and webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fake_threads import APP_SECRET, USER_ID, FakeThreads
from ocma_threads import ThreadsPlatform
from ocma_threads.counting import threads_length
from threads_testkit import connect

from ocma_core import AccountContext, PostContent, RateLimited, Rejected
from ocma_core.testing.conformance import run
from ocma_core.testing.fake_graph import MediaHost


@pytest.fixture
def ctx(threads: ThreadsPlatform, fake_threads: FakeThreads) -> AccountContext:
    return run(connect(threads, fake_threads))


def test_length_counts_emoji_as_their_utf8_bytes(threads: ThreadsPlatform) -> None:
    assert threads_length("héllo") == 5
    assert threads_length("🙂") == 4 and threads_length("a☕b") == 5
    assert not threads.validate(PostContent(text="a" * 500))
    too_long = threads.validate(PostContent(text="a" * 497 + "🙂"))
    assert [p.code for p in too_long] == ["too_long"]
    part = threads.validate(PostContent(text="ok", thread=[PostContent(text="🙂" * 126)]))
    assert [(p.code, p.field) for p in part] == [("too_long", "thread[0].text")]
    assert {p.code for p in threads.validate(PostContent(text="x", options={"reply_control": "nobody"}))} == {
        "reply_control"
    }


def test_text_posts_publish_in_one_call_with_options(
    threads: ThreadsPlatform, fake_threads: FakeThreads, ctx: AccountContext
) -> None:
    content = PostContent(
        text="Read this", options={"reply_control": "followers_only", "link": "https://example.org/a"}
    )
    result = run(threads.publish(ctx, content))
    (create,) = fake_threads.requests_to("POST", rf"/v1\.0/{USER_ID}/threads")
    form = create.form()
    assert form["auto_publish_text"] == "true" and form["media_type"] == "TEXT"
    assert (form["reply_control"], form["link_attachment"]) == ("followers_only", "https://example.org/a")
    assert not fake_threads.requests_to("POST", rf"/v1\.0/{USER_ID}/threads_publish")
    assert fake_threads.state.posts[result.external_id]["reply_control"] == "followers_only"
    assert result.url and result.url.startswith("https://www.threads.net/")


def test_a_video_reply_still_processing_stops_the_thread_until_it_is_out(
    threads: ThreadsPlatform,
    fake_threads: FakeThreads,
    ctx: AccountContext,
    threads_media_host: MediaHost,
    tmp_path: Path,
) -> None:
    video = threads_media_host.add(tmp_path, "video")
    content = PostContent(
        text="Part one", thread=[PostContent(text="Part two", media=[video]), PostContent(text="Part three")]
    )
    since = datetime.now(UTC) - timedelta(seconds=5)
    fake_threads.process_next(polls=2)
    first = run(threads.publish(ctx, content))
    assert first.pending and len(first.part_ids) == 2 and fake_threads.published_texts() == ["Part one"]
    assert threads_media_host.downloads == [video.path.name]
    handle = first.part_ids[-1]
    assert run(threads.check_pending(ctx, handle)).pending
    out = run(threads.check_pending(ctx, handle))
    assert not out.pending and fake_threads.parent_of(out.external_id) == first.part_ids[0]
    found = run(threads.find_published(ctx, content, since))  # what the engine does next
    assert found is not None and found.part_ids == [first.part_ids[0], out.external_id]
    whole = run(threads.continue_thread(ctx, content, found))
    assert fake_threads.published_texts() == ["Part one", "Part two", "Part three"]
    assert [fake_threads.parent_of(i) for i in whole.part_ids] == [None, *whole.part_ids[:2]]


def test_a_container_in_error_fails_and_the_parts_out_are_deleted(
    threads: ThreadsPlatform,
    fake_threads: FakeThreads,
    ctx: AccountContext,
    threads_media_host: MediaHost,
    tmp_path: Path,
) -> None:
    fake_threads.process_next(polls=0, error="The video could not be processed")
    content = PostContent(
        text="Head", thread=[PostContent(text="Bad media", media=[threads_media_host.add(tmp_path, "video")])]
    )
    with pytest.raises(Rejected, match="could not be processed") as info:
        run(threads.publish(ctx, content))
    assert "deleted again" in info.value.message
    assert fake_threads.published_texts() == []


def test_a_carousel_part(
    threads: ThreadsPlatform,
    fake_threads: FakeThreads,
    ctx: AccountContext,
    threads_media_host: MediaHost,
    tmp_path: Path,
) -> None:
    items = [threads_media_host.add(tmp_path, alt="one"), threads_media_host.add(tmp_path, "video")]
    result = run(threads.publish(ctx, PostContent(text="Two things", media=items)))
    assert not result.pending
    carousel = next(c for c in fake_threads.state.containers.values() if c["type"] == "CAROUSEL")
    assert (
        len(carousel["children"]) == 2
        and fake_threads.state.posts[result.external_id]["media_type"] == "CAROUSEL_ALBUM"
    )


def test_the_reply_quota_is_checked_before_a_thread(
    threads: ThreadsPlatform, fake_threads: FakeThreads, ctx: AccountContext
) -> None:
    fake_threads.reply_quota = 1
    with pytest.raises(RateLimited, match="replies quota"):
        run(
            threads.publish(ctx, PostContent(text="a", thread=[PostContent(text="b"), PostContent(text="c")]))
        )
    assert fake_threads.published_texts() == []
    ctx.settings["_rate_limits"] = []
    run(threads.publish(ctx, PostContent(text="single")))
    (reading,) = [i for i in ctx.settings["_rate_limits"] if i.limit == 250]
    assert reading.remaining == 250


def test_insights_and_webhooks(
    threads: ThreadsPlatform, fake_threads: FakeThreads, ctx: AccountContext
) -> None:
    post = run(threads.publish(ctx, PostContent(text="Counted")))
    fake_threads.state.posts[post.external_id]["insights"] = {"views": 50, "likes": 4}
    snapshot = run(threads.post_metrics(ctx, post.external_id))
    assert snapshot.values == {"views": 50, "likes": 4, "replies": 0, "reposts": 0, "quotes": 0, "shares": 0}
    fake_threads.state.followers = 77
    account = run(threads.account_metrics(ctx))
    assert account.values["followers_count"] == 77 and account.values["views"] == 7
    body = json.dumps(
        {
            "object": "threads",
            "entry": [
                {
                    "id": USER_ID,
                    "time": 1,
                    "changes": [
                        {
                            "field": "replies",
                            "value": {
                                "id": "r9",
                                "text": "Nice",
                                "root_post": {"id": post.external_id},
                                "replied_to": {"id": post.external_id},
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()
    signed = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert threads.verify_webhook({"X-Hub-Signature-256": signed}, body)
    (event,) = threads.parse_webhook(body)
    assert (event.kind, event.external_post_id) == ("comment", post.external_id)
    assert threads.webhook_challenge(
        {"hub.mode": "subscribe", "hub.verify_token": "verify-th", "hub.challenge": "7"}
    ) == (200, "7")


def test_topic_tag_and_quote_go_on_the_first_part_only(
    threads: ThreadsPlatform, fake_threads: FakeThreads, ctx: AccountContext
) -> None:
    content = PostContent(
        text="Bread talk",
        thread=[PostContent(text="more")],
        options={"topic_tag": "Baking", "quote_post_id": "123"},
    )
    run(threads.publish(ctx, content))
    first, second = (r.form() for r in fake_threads.requests_to("POST", rf"/v1\.0/{USER_ID}/threads"))
    assert (first["topic_tag"], first["quote_post_id"]) == ("Baking", "123")
    assert "topic_tag" not in second and "quote_post_id" not in second and second["reply_to_id"]
