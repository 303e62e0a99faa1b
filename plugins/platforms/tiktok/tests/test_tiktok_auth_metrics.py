"""TikTok login (PKCE, rotating refresh tokens, lifetimes, revoke), errors, metrics and webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fake_tiktok import CLIENT_KEY, CLIENT_SECRET, OPEN_ID, REFRESH_TTL_S, FakeTikTok
from ocma_tiktok import TikTokPlatform, api
from tiktok_testkit import MediaHost, connect

from ocma_core import AuthExpired, PostContent, RateLimited, Rejected, Transient
from ocma_core.testing.conformance import run


def test_authorize_url_uses_client_key_comma_scopes_and_pkce(tiktok: TikTokPlatform) -> None:
    from ocma_core.oauth_client import authorize_url

    url = authorize_url(tiktok.oauth_client(), state="s", redirect_uri="https://x/cb", verifier="v" * 50)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert urlsplit(url).path == "/v2/auth/authorize/"
    assert query["client_key"] == CLIENT_KEY and query["code_challenge_method"] == "S256"
    assert query["scope"] == "user.info.basic,user.info.stats,video.publish,video.upload,video.list"


def test_tokens_honour_lifetimes_and_refresh_rotates(tiktok: TikTokPlatform, fake_tiktok: FakeTikTok) -> None:
    before = datetime.now(UTC).replace(microsecond=0)  # the lifetimes are counted from the answer, in seconds
    ctx = run(connect(tiktok, fake_tiktok))
    now = datetime.now(UTC)
    tokens = ctx.tokens
    assert ctx.external_id == OPEN_ID and ctx.handle == "ocma.bakery"
    assert tokens.expires_at is not None and tokens.refresh_expires_at is not None
    # Issued between `before` and `now`, however slow the machine: two hours, and the refresh token's lifetime.
    assert before + timedelta(hours=2) <= tokens.expires_at <= now + timedelta(hours=2)
    refresh_ttl = timedelta(seconds=REFRESH_TTL_S)
    assert before + refresh_ttl <= tokens.refresh_expires_at <= now + refresh_ttl
    assert "video.publish" in tokens.scopes
    fresh = run(tiktok.refresh(ctx))
    assert fresh.refresh_token != tokens.refresh_token and fresh.extra["open_id"] == OPEN_ID
    with pytest.raises(AuthExpired, match="Refresh token is invalid or expired"):
        run(tiktok.refresh(ctx))  # the old refresh token died with its use
    ctx.tokens = fresh
    ctx.tokens.refresh_expires_at = now - timedelta(seconds=1)
    with pytest.raises(AuthExpired, match="connect the account again"):
        run(tiktok.refresh(ctx))


def test_a_wrong_client_secret_is_a_configuration_problem(fake_tiktok: FakeTikTok) -> None:
    from tiktok_testkit import tiktok_env

    wrong = TikTokPlatform(env=tiktok_env(fake_tiktok, OCMA_TIKTOK_CLIENT_SECRET="nope"))
    with pytest.raises(Rejected, match="OCMA_TIKTOK_CLIENT_SECRET"):
        run(connect(wrong, fake_tiktok))


def test_revoke_ends_the_authorisation(tiktok: TikTokPlatform, fake_tiktok: FakeTikTok) -> None:
    ctx = run(connect(tiktok, fake_tiktok))
    run(tiktok.revoke(ctx))
    assert fake_tiktok.state.revoked == [ctx.tokens.access_token]
    with pytest.raises(AuthExpired):
        run(tiktok.get_profile(ctx))
    with pytest.raises(AuthExpired):
        run(tiktok.refresh(ctx))


def _answer(status: int, code: str, message: str = "m", **headers: str) -> httpx.Response:
    body = {"data": {}, "error": {"code": code, "message": message, "log_id": "L1"}}
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(
    ("status", "code", "failure"),
    [
        (401, "access_token_invalid", AuthExpired),
        (401, "scope_not_authorized", AuthExpired),
        (429, "rate_limit_exceeded", RateLimited),
        (403, "spam_risk_too_many_posts", Rejected),
        (400, "invalid_file_upload", Rejected),
        (403, "unaudited_client_can_only_post_to_private_accounts", Rejected),
        (500, "internal_error", Transient),
        (200, "internal_error", Transient),
    ],
)
def test_the_envelope_maps_onto_typed_failures(status: int, code: str, failure: type[Exception]) -> None:
    found = api.failure_for(_answer(status, code, "TikTok says no"), creates=True)
    assert isinstance(found, failure) and "TikTok says no" in str(found) and "log_id L1" in str(found)
    assert api.failure_for(_answer(200, "ok"), creates=True) is None


def test_a_rate_limit_honours_retry_after_when_sent() -> None:
    found = api.failure_for(_answer(429, "rate_limit_exceeded", **{"Retry-After": "5"}), creates=False)
    assert isinstance(found, RateLimited)
    assert found.retry_at <= datetime.now(UTC) + timedelta(seconds=6)


def test_video_metrics_are_asked_twenty_ids_at_a_time(
    tiktok: TikTokPlatform, fake_tiktok: FakeTikTok, media_host: MediaHost, tmp_path: Path
) -> None:
    from ocma_tiktok import metrics

    ctx = run(connect(tiktok, fake_tiktok))
    ids = []
    for n in range(23):
        content = PostContent(
            text=f"photo {n}",
            media=[media_host.add(tmp_path)],
            options={"privacy_level": "PUBLIC_TO_EVERYONE"},
        )
        ids.append(run(tiktok.publish(ctx, content)).external_id)
    found = run(metrics.query_videos(tiktok, ctx, ids))
    assert set(found) == set(ids)
    batches = [
        len(r.json()["filters"]["video_ids"]) for r in fake_tiktok.requests_to("POST", r"/v2/video/query/")
    ]
    assert batches == [20, 3]
    snapshot = run(tiktok.post_metrics(ctx, ids[0]))
    assert snapshot.values == {
        "view_count": 107.0,
        "like_count": 10.0,
        "comment_count": 2.0,
        "share_count": 1.0,
    }
    for video_id in ids:  # a first metrics round: each video is new to the plugin
        run(tiktok.post_metrics(ctx, video_id))
    tiktok.video_batch.fresh.clear()  # a later round: OCMA asks post after post, the plugin 20 ids a call
    asked = len(fake_tiktok.requests_to("POST", r"/v2/video/query/"))
    snapshots = [run(tiktok.post_metrics(ctx, i)) for i in ids]
    calls = fake_tiktok.requests_to("POST", r"/v2/video/query/")[asked:]
    assert [len(r.json()["filters"]["video_ids"]) for r in calls] == [20, 3]
    assert [s.values["view_count"] for s in snapshots] == [100.0 + len(f"photo {n}") for n in range(23)]
    account = run(tiktok.account_metrics(ctx))
    assert account.values["follower_count"] == 1234 and account.values["video_count"] == 23
    with pytest.raises(Rejected, match="only for a public post"):
        run(tiktok.post_metrics(ctx, "v_pub_file~v2-1.123"))


def _signed(body: bytes, stamp: int, secret: str = CLIENT_SECRET) -> dict[str, str]:
    signature = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"TikTok-Signature": f"t={stamp},s={signature}"}


def test_webhook_signatures_are_checked_and_stale_ones_refused(tiktok: TikTokPlatform) -> None:
    content = json.dumps({"publish_id": "v_pub_url~v2-1.77", "publish_type": "DIRECT_PUBLISH"})
    body = json.dumps(
        {
            "client_key": CLIENT_KEY,
            "event": "post.publish.complete",
            "create_time": 1,
            "user_openid": OPEN_ID,
            "content": content,
        }
    ).encode()
    now = int(time.time())
    assert tiktok.verify_webhook({k.lower(): v for k, v in _signed(body, now).items()}, body)
    assert not tiktok.verify_webhook(_signed(body, now - 301), body)  # stale
    assert not tiktok.verify_webhook(_signed(body, now, "other"), body)
    assert not tiktok.verify_webhook(_signed(body + b" ", now), body)
    assert not tiktok.verify_webhook({}, body)
    for odd in (f"t={'9' * 5000},s={'a' * 64}", f"t={now},s=\u00e9", f"t=\u0661\u0662,s={'a' * 64}"):
        assert not tiktok.verify_webhook({"TikTok-Signature": odd}, body)  # refused, never an exception
    (event,) = tiktok.parse_webhook(body)
    assert event.kind == "publish.settled" and event.external_post_id == "v_pub_url~v2-1.77"
    assert event.raw["event"] == "post.publish.complete"
    assert event.external_account_id == OPEN_ID
    assert tiktok.parse_webhook(b"not json") == []
