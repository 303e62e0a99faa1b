"""Publishing on X: threads, polls, reply settings, failures, lookup of unconfirmed posts, delete."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fake_x import FakeX
from ocma_x import XPlatform

from ocma_core import AccountContext, PostContent, RateLimited, Rejected, Transient, Unconfirmed
from ocma_core.testing.conformance import run


def _bodies(fake: FakeX) -> list[dict[str, object]]:
    return [json.loads(r.body) for r in fake.requests_to("POST", "/2/tweets")]


def test_thread_is_a_reply_chain(x_platform: XPlatform, x_ctx: AccountContext, fake_x: FakeX) -> None:
    """Each part replies to the previous one; every id is returned; the URL is x.com/<handle>/status/<id>."""
    content = PostContent(
        text="Thread 1/3", thread=[PostContent(text="Thread 2/3"), PostContent(text="Thread 3/3")]
    )
    result = run(x_platform.publish(x_ctx, content))
    assert len(result.part_ids) == 3 and result.external_id == result.part_ids[0]
    bodies = _bodies(fake_x)
    assert "reply" not in bodies[0]
    assert bodies[1]["reply"] == {"in_reply_to_tweet_id": result.part_ids[0]}
    assert bodies[2]["reply"] == {"in_reply_to_tweet_id": result.part_ids[1]}
    posts = fake_x.state.posts
    assert {posts[i]["conversation_id"] for i in result.part_ids} == {result.part_ids[0]}
    assert result.url == f"https://x.com/ocma_fake/status/{result.part_ids[0]}"


def test_poll_and_reply_settings(x_platform: XPlatform, x_ctx: AccountContext, fake_x: FakeX) -> None:
    """content.options poll and reply_settings reach POST /2/tweets as X's fields."""
    poll = {"options": ["Yes", "No", "Maybe"], "duration_minutes": 1440}
    content = PostContent(text="Poll time", options={"poll": poll, "reply_settings": "following"})
    result = run(x_platform.publish(x_ctx, content))
    [body] = _bodies(fake_x)
    assert body == {"text": "Poll time", "poll": poll, "reply_settings": "following"}
    assert fake_x.state.posts[result.external_id]["poll"] == poll


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"poll": {"options": ["only one"], "duration_minutes": 60}}, "poll_options"),
        ({"poll": {"options": ["a", "b" * 26], "duration_minutes": 60}}, "poll_option_length"),
        ({"poll": {"options": ["a", "b"], "duration_minutes": 3}}, "poll_duration"),
        ({"poll": {"options": ["a", "b"], "duration_minutes": 60, "x": 1}}, "poll_invalid"),
        ({"reply_settings": "everyone"}, "reply_settings"),
    ],
)
def test_option_validation(x_platform: XPlatform, options: dict[str, object], code: str) -> None:
    """Poll and reply-settings rules are checked before anything is sent."""
    problems = x_platform.validate(PostContent(text="hi", options=options))
    assert code in [p.code for p in problems]


def test_invalid_options_are_rejected_without_a_call(
    x_platform: XPlatform, x_ctx: AccountContext, fake_x: FakeX
) -> None:
    """publish refuses content that validate() finds problems with."""
    with pytest.raises(Rejected):
        run(x_platform.publish(x_ctx, PostContent(text="hi", options={"reply_settings": "nobody"})))
    assert not fake_x.requests_to("POST", "/2/tweets")


def test_duplicate_content_is_rejected(x_platform: XPlatform, x_ctx: AccountContext) -> None:
    """X's 403 'duplicate content' becomes Rejected with code duplicate."""
    run(x_platform.publish(x_ctx, PostContent(text="Same words")))
    with pytest.raises(Rejected) as info:
        run(x_platform.publish(x_ctx, PostContent(text="Same words")))
    assert info.value.code == "duplicate" and info.value.status == 403


def test_503_on_create_is_unconfirmed(x_platform: XPlatform, x_ctx: AccountContext, fake_x: FakeX) -> None:
    """A 5xx answer to POST /2/tweets may or may not have stored the post: Unconfirmed, then looked up."""
    fake_x.fail_next("server_error")
    content = PostContent(text="Maybe stored")
    with pytest.raises(Unconfirmed):
        run(x_platform.publish(x_ctx, content))
    assert run(x_platform.find_published(x_ctx, content, datetime.now(UTC) - timedelta(minutes=1))) is None


def test_rate_limit_mid_thread_names_the_part_out(
    x_platform: XPlatform, x_ctx: AccountContext, fake_x: FakeX
) -> None:
    """A part rate-limited after part 1 went out: the failure carries part 1's id; the thread goes on from it."""
    fake_x.fail_next("rate_limit", retry_after_s=60, skip=1)
    content = PostContent(text="Part A", thread=[PostContent(text="Part B")])
    with pytest.raises(RateLimited) as info:
        run(x_platform.publish(x_ctx, content))
    assert fake_x.published_texts() == ["Part A"] and len(info.value.parts_out) == 1
    found = run(x_platform.find_published(x_ctx, content, datetime.now(UTC) - timedelta(minutes=1)))
    assert found is not None and found.part_ids == info.value.parts_out
    result = run(x_platform.continue_thread(x_ctx, content, found))  # part A is not posted again
    assert [fake_x.state.posts[i]["source_text"] for i in result.part_ids] == ["Part A", "Part B"]
    assert sorted(fake_x.published_texts()) == ["Part A", "Part B"]


def test_thread_part_refused_as_duplicate_takes_the_thread_back(
    x_platform: XPlatform, x_ctx: AccountContext, fake_x: FakeX
) -> None:
    """X refuses part 2 for good (duplicate content): part 1 is deleted again, the refusal says so."""
    fake_x.seed_post("Said before")
    content = PostContent(text="Fresh start", thread=[PostContent(text="Said before")])
    with pytest.raises(Rejected, match="deleted again"):
        run(x_platform.publish(x_ctx, content))
    assert fake_x.published_texts() == ["Said before"]


def test_unconfirmed_thread_part_is_found_then_continued(
    x_platform: XPlatform, x_ctx: AccountContext, fake_x: FakeX
) -> None:
    """A later part that timed out after X stored it: found by the lookup, and only part 3 is posted after."""
    x_platform.request_timeout_s = 1.0  # type: ignore[misc]
    since = datetime.now(UTC) - timedelta(seconds=5)
    fake_x.fail_next("timeout_after_store", skip=1)
    content = PostContent(text="Slow 1", thread=[PostContent(text="Slow 2"), PostContent(text="Slow 3")])
    with pytest.raises(Unconfirmed) as info:
        run(x_platform.publish(x_ctx, content))
    assert len(info.value.parts_out) == 1
    found = run(x_platform.find_published(x_ctx, content, since))
    assert found is not None and len(found.part_ids) == 2
    result = run(x_platform.continue_thread(x_ctx, content, found))
    assert [fake_x.state.posts[i]["source_text"] for i in result.part_ids] == ["Slow 1", "Slow 2", "Slow 3"]
    assert len(fake_x.published_texts()) == 3


def test_find_published_reports_the_parts_and_posts_nothing(
    x_platform: XPlatform, x_ctx: AccountContext, fake_x: FakeX
) -> None:
    """When only the first part landed, find_published says so (one part) and posts nothing itself."""
    x_platform.request_timeout_s = 1.0  # type: ignore[misc]
    since = datetime.now(UTC) - timedelta(seconds=5)
    content = PostContent(text="Head & tail https://example.com/a?b=1", thread=[PostContent(text="Tail <2>")])
    fake_x.fail_next("timeout_after_store")
    with pytest.raises(Unconfirmed):
        run(x_platform.publish(x_ctx, content))
    stored = fake_x.state.posts
    [head] = [p["text"] for p in stored.values()]
    assert head.startswith("Head &amp; tail https://t.co/")
    found = run(x_platform.find_published(x_ctx, content, since))
    assert found is not None and len(found.part_ids) == 1 and len(stored) == 1
    result = run(x_platform.continue_thread(x_ctx, content, found))
    assert stored[result.part_ids[1]]["reply_to"] == found.part_ids[0]
    again = run(x_platform.find_published(x_ctx, content, since))
    assert again is not None and again.part_ids == result.part_ids  # nothing posted twice


def test_find_published_pages_through_the_timeline(
    x_platform: XPlatform, x_ctx: AccountContext, fake_x: FakeX
) -> None:
    """The lookup follows meta.next_token."""
    target = fake_x.seed_post("Needle", age_days=0.001)
    for index in range(120):
        fake_x.seed_post(f"Hay {index}", age_days=0.0001)
    found = run(
        x_platform.find_published(x_ctx, PostContent(text="Needle"), datetime.now(UTC) - timedelta(hours=1))
    )
    assert found is not None and found.external_id == target
    assert any("pagination_token" in r.query for r in fake_x.requests_to("GET", r"/2/users/\d+/tweets"))


def test_delete(x_platform: XPlatform, x_ctx: AccountContext, fake_x: FakeX) -> None:
    """DELETE /2/tweets/:id removes the post; deleting it again is not an error."""
    result = run(x_platform.publish(x_ctx, PostContent(text="Short-lived")))
    run(x_platform.delete(x_ctx, result.external_id))
    assert "Short-lived" not in fake_x.published_texts()
    run(x_platform.delete(x_ctx, result.external_id))


def test_connection_refused_is_transient(x_ctx: AccountContext) -> None:
    """Nothing listening: the post was never sent."""
    platform = XPlatform(env={"OCMA_X_API_BASE": "http://127.0.0.1:9", "OCMA_X_CLIENT_ID": "id"})
    with pytest.raises(Transient):
        run(platform.publish(x_ctx, PostContent(text="nowhere")))


def test_public_url_without_handle(x_platform: XPlatform, x_ctx: AccountContext) -> None:
    """Without a handle the i/web/status form is used."""
    x_ctx.handle = ""
    assert x_platform.public_url(x_ctx, "1") == "https://x.com/i/web/status/1"
