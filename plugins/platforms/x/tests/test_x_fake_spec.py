"""FakeX holds requests and its own answers to X's OpenAPI description (so the plugin is tested against it)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fake_x import CLIENT_ID, CLIENT_SECRET, FakeX
from fake_x_spec import SpecError, XSpec
from ocma_x import XPlatform
from x_test_support import item, png

from ocma_core import AccountContext, MediaItem, PostContent, Rejected
from ocma_core.oauth_client import authorize_url, new_code_verifier
from ocma_core.testing.conformance import run

ALL_OPERATIONS = {
    "getUsersMe",
    "createPosts",
    "deletePosts",
    "getPostsById",
    "getUsersPosts",
    "mediaUpload",
    "getMediaUploadStatus",
    "initializeMediaUpload",
    "appendMediaUpload",
    "finalizeMediaUpload",
    "createMediaMetadata",
}


def _call(fake: FakeX, ctx: AccountContext, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {ctx.tokens.access_token}"}
    return httpx.request(method, f"{fake.base_url}{path}", headers=headers, timeout=5, **kwargs)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "mentions"),
    [
        ("POST", "/2/tweets", {"json": {"text": "x", "unknown": 1}}, "unknown"),
        ("POST", "/2/tweets", {"json": {"text": 5}}, "text"),
        (
            "POST",
            "/2/tweets",
            {"json": {"text": "x", "poll": {"options": ["a"], "duration_minutes": 60}}},
            "poll",
        ),
        ("POST", "/2/tweets", {"json": {"text": "x", "reply": {"in_reply_to_tweet_id": "abc"}}}, "reply"),
        ("POST", "/2/tweets", {"json": {"text": "x", "reply_settings": "everyone"}}, "reply_settings"),
        (
            "POST",
            "/2/media/upload",
            {"data": {"media_category": "bogus"}, "files": {"media": ("a", b"x")}},
            "media_category",
        ),
        (
            "POST",
            "/2/media/upload",
            {"data": {"media_category": "tweet_image", "command": "INIT"}, "files": {"media": ("a", b"x")}},
            "command",
        ),
        ("POST", "/2/media/metadata", {"json": {"media_id": "1", "alt_text": {"text": "v1.1 shape"}}}, "id"),
        (
            "POST",
            "/2/media/upload/initialize",
            {"json": {"media_type": "video/mp4", "total_bytes": -1}},
            "total_bytes",
        ),
        (
            "POST",
            "/2/media/upload/1/append",
            {"data": {"segment_index": "1000"}, "files": {"media": ("a", b"x")}},
            "segment_index",
        ),
        ("GET", "/2/users/me", {"params": {"user.fields": "bogus"}}, "user.fields"),
        ("GET", "/2/users/me", {"params": {"foo": "1"}}, "foo"),
        ("GET", "/2/media/upload", {"params": {"command": "STATUS"}}, "media_id"),
    ],
)
def test_fake_rejects_off_spec_requests(
    fake_x: FakeX, x_ctx: AccountContext, method: str, path: str, kwargs: dict[str, Any], mentions: str
) -> None:
    """A request that does not match the operation's schema gets X's 400 invalid-request problem."""
    answer = _call(fake_x, x_ctx, method, path, **kwargs)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["type"] == "https://api.x.com/2/problems/invalid-request"
    assert mentions in str(body["errors"])


def test_every_operation_answers_on_spec(
    x_platform: XPlatform, x_ctx: AccountContext, fake_x: FakeX, tmp_path: Path
) -> None:
    """A full session touches every operation; each answer was validated against its response schema."""
    photo = item(tmp_path / "p.png", png(2, 2), "image/png", alt="alt")
    video: MediaItem = item(tmp_path / "v.mp4", b"\x00" * 64, "video/mp4")
    first = run(
        x_platform.publish(
            x_ctx,
            PostContent(
                text="Spec tour", media=[photo], thread=[PostContent(text="Part two", media=[video])]
            ),
        )
    )
    run(x_platform.post_metrics(x_ctx, first.external_id))
    run(x_platform.account_metrics(x_ctx))
    from datetime import UTC, datetime, timedelta

    run(
        x_platform.find_published(
            x_ctx, PostContent(text="Spec tour"), datetime.now(UTC) - timedelta(minutes=5)
        )
    )
    run(x_platform.delete(x_ctx, first.part_ids[1]))
    _call(fake_x, x_ctx, "DELETE", "/2/tweets/1")  # a 404 problem answer
    _call(fake_x, x_ctx, "POST", "/2/tweets", json={"text": "x", "bogus": 1})  # a 400 problem answer
    checked = {(op, status, schema) for op, status, schema in fake_x.state.checked}
    assert {op for op, _, _ in checked} == ALL_OPERATIONS
    assert ("createPosts", 201, "CreatePostsResponse") in checked
    assert ("createMediaMetadata", 200, "CreateMediaMetadataResponse") in checked
    assert ("deletePosts", 404, "Problem") in checked and ("createPosts", 400, "Problem") in checked


def test_spec_catches_off_spec_answers() -> None:
    """The response check is real: a createPosts answer without text, or with a bad id, fails."""
    spec = XSpec.load()
    op = spec.operation("post", "/2/tweets")
    spec.check_response(op, 201, {"data": {"id": "123", "text": "ok"}}, "application/json")
    for bad in ({"data": {"id": "123"}}, {"data": {"id": "abc", "text": "x"}}):
        with pytest.raises(SpecError):
            spec.check_response(op, 201, bad, "application/json")
    with pytest.raises(SpecError):
        spec.check_response(
            op, 400, {"type": "https://api.x.com/2/problems/invalid-request"}, "application/json"
        )


def test_missing_scope_is_forbidden(
    x_platform: XPlatform, x_ctx: AccountContext, fake_x: FakeX, tmp_path: Path
) -> None:
    """Without media.write (the operation's declared scope) X answers 403: Rejected."""
    token = fake_x.state.access[x_ctx.tokens.access_token]
    fake_x.state.access[x_ctx.tokens.access_token] = type(token)(
        token.user_id, token.scopes - {"media.write"}, token.expires_at
    )
    photo = item(tmp_path / "p.png", png(1, 1), "image/png")
    with pytest.raises(Rejected):
        run(x_platform.publish(x_ctx, PostContent(text="no scope", media=[photo])))


def test_authorize_redirect_and_client_auth() -> None:
    """GET /i/oauth2/authorize redirects with code+state; a confidential app must use HTTP Basic."""
    with FakeX(confidential=True) as fake:
        platform = XPlatform(
            env={
                "OCMA_X_API_BASE": fake.base_url,
                "OCMA_X_AUTH_BASE": fake.base_url,
                "OCMA_X_CLIENT_ID": CLIENT_ID,
                "OCMA_X_CLIENT_SECRET": CLIENT_SECRET,
            }
        )
        client = platform.oauth_client()
        assert client.scopes == ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access")
        verifier = new_code_verifier()
        url = authorize_url(client, state="st", redirect_uri="http://127.0.0.1/cb", verifier=verifier)
        query = parse_qs(urlsplit(url).query)
        assert query["scope"] == ["tweet.read tweet.write users.read media.write offline.access"]
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        assert query["code_challenge"] == [challenge] and query["code_challenge_method"] == ["S256"]
        answer = httpx.get(url, follow_redirects=False, timeout=5)
        assert answer.status_code == 302
        back = parse_qs(urlsplit(answer.headers["location"]).query)
        assert back["state"] == ["st"]
        form = {
            "grant_type": "authorization_code",
            "code": back["code"][0],
            "redirect_uri": "http://127.0.0.1/cb",
            "code_verifier": verifier,
            "client_id": CLIENT_ID,
        }
        refused = httpx.post(f"{fake.base_url}/2/oauth2/token", data=form, timeout=5)
        assert refused.status_code == 401
        tokens = run(platform.exchange_code(back["code"][0], verifier, "http://127.0.0.1/cb"))
        assert tokens.refresh_token and "offline.access" in tokens.scopes


def test_default_hosts() -> None:
    """Without overrides the plugin talks to x.com and api.x.com."""
    client = XPlatform(env={"OCMA_X_CLIENT_ID": "id"}).oauth_client()
    assert client.authorize_url == "https://x.com/i/oauth2/authorize"
    assert client.token_url == "https://api.x.com/2/oauth2/token"
    assert client.client_secret is None
