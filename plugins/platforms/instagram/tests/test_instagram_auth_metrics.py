"""Instagram Login tokens, insights ("none yet" is not 0) and webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fake_instagram import APP_SECRET, IG_USER_ID, USERNAME, FakeInstagram
from instagram_testkit import REDIRECT_URI, connect
from ocma_instagram import InstagramPlatform

from ocma_core import AccountContext, AuthExpired, PostContent, Rejected
from ocma_core.oauth_client import authorize_url
from ocma_core.testing.conformance import run
from ocma_core.testing.fake_graph import MediaHost


@pytest.fixture
def ctx(instagram: InstagramPlatform, fake_instagram: FakeInstagram) -> AccountContext:
    return run(connect(instagram, fake_instagram))


def test_consent_url_uses_the_business_scopes(instagram: InstagramPlatform) -> None:
    url = authorize_url(instagram.oauth_client(), state="s", redirect_uri=REDIRECT_URI, verifier=None)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert urlsplit(url).path == "/oauth/authorize"
    assert query["scope"].split(",") == [
        "instagram_business_basic",
        "instagram_business_content_publish",
        "instagram_business_manage_insights",
        "instagram_business_manage_comments",
    ]


def test_login_gives_a_long_lived_token_refreshed_after_a_day(
    instagram: InstagramPlatform, fake_instagram: FakeInstagram, ctx: AccountContext
) -> None:
    now = datetime.now(UTC)
    tokens = ctx.tokens
    assert (ctx.external_id, ctx.handle) == (IG_USER_ID, USERNAME)
    assert fake_instagram.state.tokens[tokens.access_token].kind == "long"
    assert tokens.refresh_token == tokens.access_token  # the long-lived token refreshes itself
    assert tokens.expires_at is not None and tokens.refresh_expires_at is not None
    assert now + timedelta(hours=23) < tokens.expires_at <= now + timedelta(hours=24, minutes=1)
    assert now + timedelta(days=59) < tokens.refresh_expires_at < now + timedelta(days=61)
    assert set(tokens.scopes) >= {"instagram_business_basic", "instagram_business_content_publish"}
    with pytest.raises(AuthExpired):  # Meta refreshes only a token at least 24 hours old
        run(instagram.refresh(ctx))
    fake_instagram.age_tokens(86_400 + 60)
    fresh = run(instagram.refresh(ctx))
    assert fake_instagram.state.tokens[fresh.access_token].kind == "long"
    assert fresh.scopes == tokens.scopes


def test_a_used_code_is_refused(instagram: InstagramPlatform) -> None:
    with pytest.raises(AuthExpired, match="authorisation code"):
        run(instagram.exchange_code("AQnope#_", None, REDIRECT_URI))


def test_media_insights_and_none_yet(
    instagram: InstagramPlatform,
    fake_instagram: FakeInstagram,
    ctx: AccountContext,
    media_host: MediaHost,
    tmp_path: Path,
) -> None:
    result = run(instagram.publish(ctx, PostContent(text="Seen", media=[media_host.add(tmp_path)])))
    fake_instagram.state.media[result.external_id]["insights"] = {
        "views": 120,
        "reach": 80,
        "likes": 9,
        "saved": 2,
    }
    snapshot = run(instagram.post_metrics(ctx, result.external_id))
    assert snapshot.values == {
        "views": 120,
        "reach": 80,
        "likes": 9,
        "comments": 0,
        "shares": 0,
        "saved": 2,
        "total_interactions": 0,
    }
    fake_instagram.insights_ready = False
    empty = run(instagram.post_metrics(ctx, result.external_id))
    assert empty.values == {} and "views" in empty.unavailable and "no insights" in empty.note


def test_account_counts(
    instagram: InstagramPlatform, fake_instagram: FakeInstagram, ctx: AccountContext
) -> None:
    fake_instagram.state.followers = 321
    snapshot = run(instagram.account_metrics(ctx))
    assert snapshot.values == {"followers_count": 321, "follows_count": 3, "media_count": 0}


def test_webhooks(instagram: InstagramPlatform) -> None:
    assert instagram.webhook_challenge(
        {"hub.mode": "subscribe", "hub.verify_token": "verify-ig", "hub.challenge": "42"}
    ) == (200, "42")
    body = json.dumps(
        {
            "object": "instagram",
            "entry": [
                {
                    "id": IG_USER_ID,
                    "time": 1764000000,
                    "changes": [
                        {
                            "field": "comments",
                            "value": {
                                "id": "c1",
                                "text": "Yum",
                                "from": {"id": "5", "username": "fan"},
                                "media": {"id": "m1", "media_product_type": "FEED"},
                            },
                        },
                        {"field": "mentions", "value": {"media_id": "m2", "comment_id": "c2"}},
                    ],
                }
            ],
        }
    ).encode()
    signed = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert instagram.verify_webhook({"x-hub-signature-256": signed}, body)
    assert not instagram.verify_webhook({"x-hub-signature-256": "sha256=00"}, body)
    comment, mention = instagram.parse_webhook(body)
    assert (comment.kind, comment.external_post_id) == ("comment", "m1")
    assert (mention.kind, mention.external_post_id) == ("mention", "m2")


def test_the_facebook_login_variant_finds_the_account_behind_the_page(fake_instagram: FakeInstagram) -> None:
    from fake_instagram import PAGE_ID
    from instagram_testkit import instagram_env

    platform = InstagramPlatform(env=instagram_env(fake_instagram, OCMA_INSTAGRAM_LOGIN="facebook"))
    client = platform.oauth_client()
    assert client.authorize_url.endswith("/v24.0/dialog/oauth")
    assert "instagram_content_publish" in client.scopes and "pages_show_list" in client.scopes
    ctx = run(connect(platform, fake_instagram))  # the Page without a linked account is not offered
    assert (ctx.external_id, ctx.handle) == (IG_USER_ID, USERNAME)
    assert ctx.settings["page_id"] == PAGE_ID and ctx.tokens.refresh_token is None
    assert fake_instagram.state.tokens[ctx.tokens.access_token].kind == "page"
    from ocma_instagram.facebook_login import _choose

    linked = [
        {
            "id": PAGE_ID,
            "name": "OCMA Bakery",
            "instagram_business_account": {"id": IG_USER_ID, "username": USERNAME},
        }
    ]
    assert _choose(linked, "@" + USERNAME)["id"] == PAGE_ID
    with pytest.raises(Rejected, match="Choose the Instagram account"):
        _choose(linked, "nobody")
    with pytest.raises(Rejected, match="has an Instagram professional account linked"):
        _choose([], "")
