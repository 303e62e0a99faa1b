"""Metrics per author type: organisation statistics, member analytics when granted, honest gaps otherwise."""

from __future__ import annotations

import pytest
from fake_linkedin import ORG_ID, FakeLinkedIn
from linkedin_testkit import connect, linkedin_env, run
from ocma_linkedin import LinkedInPlatform
from ocma_linkedin.metrics import MEMBER_POST_METRICS, ORG_POST_FIELDS

from ocma_core import PostContent, Rejected

ORG = f"urn:li:organization:{ORG_ID}"


def test_organisation_post_statistics(linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn) -> None:
    ctx = connect(linkedin, fake_linkedin, author_urn=ORG)
    urn = run(linkedin.publish(ctx, PostContent(text="Org update"))).external_id
    fake_linkedin.set_post_stats(
        urn,
        impressionCount=1200,
        uniqueImpressionsCount=800,
        clickCount=30,
        likeCount=45,
        commentCount=5,
        shareCount=2,
    )
    snapshot = run(linkedin.post_metrics(ctx, urn))
    assert snapshot.values == {
        "impressionCount": 1200.0,
        "uniqueImpressionsCount": 800.0,
        "clickCount": 30.0,
        "likeCount": 45.0,
        "commentCount": 5.0,
        "shareCount": 2.0,
        "engagement": pytest.approx((30 + 45 + 5 + 2) / 1200),
    }
    assert snapshot.unavailable == ()
    query = fake_linkedin.requests_to("GET", "/rest/organizationalEntityShareStatistics")[-1].query
    assert query == {"q": "organizationalEntity", "organizationalEntity": ORG, "shares": f"List({urn})"}


def test_organisation_ugc_post_uses_ugcposts_parameter(
    linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn
) -> None:
    ctx = connect(linkedin, fake_linkedin, author_urn=ORG)
    urn = "urn:li:ugcPost:6443156446455693312"
    fake_linkedin.state.posts[urn] = {"id": urn, "author": ORG, "commentary": "legacy", "lastModifiedAt": 0}
    fake_linkedin.set_post_stats(urn, impressionCount=10)
    snapshot = run(linkedin.post_metrics(ctx, urn))
    assert snapshot.values["impressionCount"] == 10.0
    assert (
        fake_linkedin.requests_to("GET", "/rest/organizationalEntityShareStatistics")[-1].query["ugcPosts"]
        == f"List({urn})"
    )


def test_organisation_statistics_missing_says_so(
    linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn
) -> None:
    ctx = connect(linkedin, fake_linkedin, author_urn=ORG)
    snapshot = run(linkedin.post_metrics(ctx, "urn:li:share:1"))
    assert (
        snapshot.values == {}
        and snapshot.unavailable == ORG_POST_FIELDS
        and "no share statistics" in snapshot.note
    )
    with pytest.raises(Rejected, match="not a LinkedIn post URN"):
        run(linkedin.post_metrics(ctx, "urn:li:image:D1"))


def test_member_post_without_analytics_scope_has_none(
    linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn
) -> None:
    ctx = connect(linkedin, fake_linkedin)
    urn = run(linkedin.publish(ctx, PostContent(text="Personal post"))).external_id
    calls = len(fake_linkedin.requests)
    snapshot = run(linkedin.post_metrics(ctx, urn))
    assert snapshot.values == {}
    assert snapshot.unavailable == MEMBER_POST_METRICS
    assert (
        "LinkedIn exposes no post analytics for member" in snapshot.note
        and "r_member_postAnalytics" in snapshot.note
    )
    assert len(fake_linkedin.requests) == calls  # nothing was asked: LinkedIn would refuse (403)


def test_member_post_analytics_when_granted(fake_linkedin: FakeLinkedIn) -> None:
    platform = LinkedInPlatform(env=linkedin_env(fake_linkedin, "member r_member_postAnalytics"))
    ctx = connect(platform, fake_linkedin)
    urn = run(platform.publish(ctx, PostContent(text="Measured post"))).external_id
    fake_linkedin.set_post_stats(
        urn, impressionCount=500, uniqueImpressionsCount=320, likeCount=12, commentCount=3, shareCount=1
    )
    snapshot = run(platform.post_metrics(ctx, urn))
    assert snapshot.values == {
        "IMPRESSION": 500.0,
        "MEMBERS_REACHED": 320.0,
        "REACTION": 12.0,
        "COMMENT": 3.0,
        "RESHARE": 1.0,
    }
    query = fake_linkedin.requests_to("GET", "/rest/memberCreatorPostAnalytics")[-1].query
    assert query == {
        "q": "entity",
        "entity": f"(share:{urn})",
        "queryType": "RESHARE",
        "aggregation": "TOTAL",
    }


def test_organisation_followers(linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn) -> None:
    org = fake_linkedin.add_org("90210", "Big Page", followers=4321)
    ctx = connect(linkedin, fake_linkedin, author_urn=org)
    snapshot = run(linkedin.account_metrics(ctx))
    assert snapshot.values == {"followers": 4321.0} and snapshot.unavailable == ()
    request = fake_linkedin.requests_to("GET", r"/rest/networkSizes/.+")[-1]
    assert request.path == "/rest/networkSizes/urn%3Ali%3Aorganization%3A90210"
    assert request.query == {"edgeType": "COMPANY_FOLLOWED_BY_MEMBER"}


def test_member_account_metrics_unavailable(linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn) -> None:
    ctx = connect(linkedin, fake_linkedin)
    snapshot = run(linkedin.account_metrics(ctx))
    assert snapshot.values == {}
    assert snapshot.unavailable == ("followers", *MEMBER_POST_METRICS)
    assert "r_member_profileAnalytics" in snapshot.note and "r_member_postAnalytics" in snapshot.note


def test_member_account_metrics_when_granted(fake_linkedin: FakeLinkedIn) -> None:
    scopes = "member r_member_postAnalytics r_member_profileAnalytics"
    platform = LinkedInPlatform(env=linkedin_env(fake_linkedin, scopes))
    ctx = connect(platform, fake_linkedin)
    fake_linkedin.state.member_followers = 987
    for text, views in (("one", 100), ("two", 250)):
        urn = run(platform.publish(ctx, PostContent(text=text))).external_id
        fake_linkedin.set_post_stats(urn, impressionCount=views)
    snapshot = run(platform.account_metrics(ctx))
    assert snapshot.values["followers"] == 987.0 and snapshot.values["IMPRESSION"] == 350.0
    assert snapshot.unavailable == ()
