"""Metrics: public for every post, non-public and organic for own posts under 30 days, both spellings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fake_x import FakeX
from ocma_x import XPlatform
from ocma_x.metrics import created_at_from_id, numbers, recent_enough
from x_test_support import connect, platform_for

from ocma_core import Rejected
from ocma_core.testing.conformance import run

PUBLIC = {
    "retweet_count": 5,
    "reply_count": 2,
    "like_count": 40,
    "quote_count": 1,
    "bookmark_count": 3,
    "impression_count": 900,
}


@pytest.fixture(params=["spec", "classic"])
def spelled(request: pytest.FixtureRequest) -> Iterator[tuple[FakeX, XPlatform]]:
    """A fake answering with repost_count/post_count ("spec") or retweet_count/tweet_count ("classic")."""
    with FakeX(spelling=request.param) as fake:
        yield fake, platform_for(fake)


def test_recent_own_post(spelled: tuple[FakeX, XPlatform]) -> None:
    """A fresh own post: public, non_public_metrics and organic_metrics, under the classic names."""
    fake, platform = spelled
    ctx = connect(platform, fake)
    post_id = fake.seed_post("Fresh", age_days=2)
    fake.set_metrics(
        post_id,
        public_metrics=PUBLIC,
        non_public_metrics={"url_link_clicks": 7, "user_profile_clicks": 4, "engagements": 60},
        organic_metrics={"retweet_count": 5, "like_count": 40},
    )
    snapshot = run(platform.post_metrics(ctx, post_id))
    assert {k: snapshot.values[k] for k in PUBLIC} == {k: float(v) for k, v in PUBLIC.items()}
    assert snapshot.values["non_public_metrics.url_link_clicks"] == 7
    assert snapshot.values["organic_metrics.retweet_count"] == 5
    assert snapshot.unavailable == ()
    [request] = fake.requests_to("GET", rf"/2/tweets/{post_id}")
    assert request.query["tweet.fields"] == "created_at,public_metrics,non_public_metrics,organic_metrics"


def test_old_post_asks_public_only(spelled: tuple[FakeX, XPlatform]) -> None:
    """A post older than 30 days: only public_metrics requested; the others listed as unavailable."""
    fake, platform = spelled
    ctx = connect(platform, fake)
    post_id = fake.seed_post("Old news", age_days=45)
    fake.set_metrics(post_id, public_metrics=PUBLIC)
    snapshot = run(platform.post_metrics(ctx, post_id))
    assert snapshot.values["retweet_count"] == 5 and snapshot.values["impression_count"] == 900
    assert set(snapshot.unavailable) == {"non_public_metrics", "organic_metrics"}
    assert "30 days" in snapshot.note
    [request] = fake.requests_to("GET", rf"/2/tweets/{post_id}")
    assert request.query["tweet.fields"] == "created_at,public_metrics"


def test_someone_elses_recent_post(spelled: tuple[FakeX, XPlatform]) -> None:
    """X withholds private metrics of others' posts (field errors): they are reported unavailable."""
    fake, platform = spelled
    ctx = connect(platform, fake)
    fake.state.users["42"] = {**fake.state.users[ctx.external_id], "id": "42", "username": "other"}
    post_id = fake.seed_post("Not mine", age_days=1, author="42")
    snapshot = run(platform.post_metrics(ctx, post_id))
    assert "like_count" in snapshot.values
    assert "non_public_metrics.url_link_clicks" in snapshot.unavailable


def test_account_metrics(spelled: tuple[FakeX, XPlatform]) -> None:
    """Followers and counts from users/me public_metrics; tweet_count whatever X calls it."""
    fake, platform = spelled
    ctx = connect(platform, fake)
    fake.seed_post("one")
    snapshot = run(platform.account_metrics(ctx))
    assert snapshot.values["followers_count"] == 1234
    assert snapshot.values["tweet_count"] == 1
    assert snapshot.unavailable == ()


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ({"repost_count": 3, "like_count": 1}, {"retweet_count": 3.0, "like_count": 1.0}),
        ({"retweet_count": 3, "like_count": 1}, {"retweet_count": 3.0, "like_count": 1.0}),
        ({"post_count": 9, "followers_count": 2}, {"tweet_count": 9.0, "followers_count": 2.0}),
        ({"tweet_count": 9, "verified": True, "name": "x"}, {"tweet_count": 9.0}),
    ],
)
def test_both_spellings(block: dict[str, object], expected: dict[str, float]) -> None:
    """repost_count/retweet_count and post_count/tweet_count land on the same names."""
    assert numbers(block) == expected


def test_snowflake_age() -> None:
    """Creation time from an id (X's documented snowflake layout); unknown ids count as old."""
    when = created_at_from_id("1228393702244134912")
    # X's docs show this post with created_at 2020-02-14T19:00:55.000Z
    assert when is not None and when.replace(microsecond=0) == datetime(2020, 2, 14, 19, 0, 55, tzinfo=UTC)
    assert created_at_from_id("20") is None and created_at_from_id("abc") is None
    assert recent_enough("20") is False
    assert recent_enough("1", created_at=datetime.now(UTC).isoformat()) is True


def test_past_posts_come_from_the_user_timeline_page_by_page() -> None:
    with FakeX() as fake:
        platform = platform_for(fake)
        ctx = connect(platform, fake)
        old = [fake.seed_post(f"Old {i}", age_days=40 + i / 100) for i in range(130)]
        fake.seed_post("Ancient", age_days=400)
        since = datetime.now(UTC) - timedelta(days=100)
        seen, cursor = [], None
        while True:
            page = run(platform.list_past_posts(ctx, since, cursor))
            seen += page.posts
            if page.cursor is None:
                break
            cursor = page.cursor
        assert sorted(p.external_id for p in seen) == sorted(old)
        assert all(p.published_at >= since and p.url for p in seen)


def test_public_account_metrics_of_another_account() -> None:
    with FakeX() as fake:
        platform = platform_for(fake)
        ctx = connect(platform, fake)
        fake.state.users["99"] = {
            "id": "99",
            "name": "Rival",
            "username": "rival",
            "followers_count": 5000,
            "following_count": 10,
            "listed_count": 2,
            "like_count": 3,
            "media_count": 4,
        }
        snap = run(platform.public_account_metrics(ctx, "@rival"))
        assert snap.values["followers_count"] == 5000 and snap.values["tweet_count"] == 0
        with pytest.raises(Rejected, match="no public account"):
            run(platform.public_account_metrics(ctx, "nobody_here"))
