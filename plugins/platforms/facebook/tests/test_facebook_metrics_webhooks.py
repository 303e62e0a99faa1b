"""Post and Page metrics (a metric Meta refuses is unavailable, never 0) and Page webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from facebook_testkit import connect
from fake_facebook import APP_SECRET, PAGES, FakeFacebook
from ocma_facebook import FacebookPlatform

from ocma_core import AccountContext, PostContent
from ocma_core.testing.conformance import run

PAGE = PAGES[0][0]


@pytest.fixture
def ctx(facebook: FacebookPlatform, fake_facebook: FakeFacebook) -> AccountContext:
    return run(connect(facebook, fake_facebook))


def test_post_metrics_read_engagement_and_insights(
    facebook: FacebookPlatform, fake_facebook: FakeFacebook, ctx: AccountContext
) -> None:
    post_id = run(facebook.publish(ctx, PostContent(text="Counted"))).external_id
    stored = fake_facebook.state.posts[post_id]
    stored.update(reactions=12, comments=3, shares=2)
    stored["insights"] = {"post_clicks": 40, "post_reactions_by_type_total": {"like": 9, "love": 3}}
    snapshot = run(facebook.post_metrics(ctx, post_id))
    assert snapshot.values == {
        "reactions": 12,
        "comments": 3,
        "shares": 2,
        "post_clicks": 40,
        "post_reactions_by_type_total.like": 9,
        "post_reactions_by_type_total.love": 3,
        "post_total_media_view_unique": 0,
    }
    assert snapshot.unavailable == ()


def test_a_metric_meta_removed_is_unavailable_not_zero(
    fake_facebook: FakeFacebook, ctx: AccountContext
) -> None:
    from facebook_testkit import facebook_env

    platform = FacebookPlatform(
        env=facebook_env(fake_facebook, OCMA_FACEBOOK_POST_INSIGHTS="post_clicks,post_impressions_unique")
    )
    post_id = run(platform.publish(ctx, PostContent(text="Old metric"))).external_id
    fake_facebook.state.posts[post_id]["insights"] = {"post_clicks": 5}
    snapshot = run(platform.post_metrics(ctx, post_id))
    assert snapshot.values["post_clicks"] == 5
    assert "post_impressions_unique" not in snapshot.values
    assert "post_impressions_unique" in snapshot.unavailable and "post_impressions_unique" in snapshot.note
    asked = [r.query["metric"] for r in fake_facebook.requests_to("GET", rf"/v24.0/{post_id}/insights")]
    assert asked == ["post_clicks,post_impressions_unique", "post_clicks", "post_impressions_unique"]


def test_page_metrics(facebook: FacebookPlatform, fake_facebook: FakeFacebook, ctx: AccountContext) -> None:
    fake_facebook.state.pages[PAGE].update(followers_count=1234, fan_count=1200)
    snapshot = run(facebook.account_metrics(ctx))
    assert snapshot.values == {"followers_count": 1234, "fan_count": 1200}


def test_webhook_handshake_signature_and_events(facebook: FacebookPlatform) -> None:
    ok = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "8431"}
    assert facebook.webhook_challenge(ok) == (200, "8431")
    assert facebook.webhook_challenge({**ok, "hub.verify_token": "guess"}) == (403, "Forbidden")
    body = json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": PAGE,
                    "time": 1764000000,
                    "changes": [
                        {
                            "field": "feed",
                            "value": {
                                "item": "comment",
                                "verb": "add",
                                "post_id": f"{PAGE}_1",
                                "comment_id": "1_2",
                                "message": "Lovely",
                                "from": {"id": "99", "name": "A reader"},
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()
    signed = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert facebook.verify_webhook({"X-Hub-Signature-256": signed}, body)
    assert not facebook.verify_webhook({"X-Hub-Signature-256": signed}, body.replace(b"Lovely", b"Lovelz"))
    (event,) = facebook.parse_webhook(body)
    assert (event.kind, event.external_post_id, event.external_account_id) == ("comment", f"{PAGE}_1", PAGE)
    assert facebook.parse_webhook(body.replace(b'"page"', b'"instagram"')) == []
