"""Facebook Login: long-lived user token, Page tokens from /me/accounts, one account per Page, debug_token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from facebook_testkit import REDIRECT_URI, connect, facebook_env
from fake_facebook import APP_ID, PAGES, USER_ID, FakeFacebook
from ocma_facebook import FacebookPlatform

from ocma_core import AuthExpired, Rejected
from ocma_core.oauth_client import authorize_url
from ocma_core.testing.conformance import run


def test_consent_url_asks_for_the_page_permissions(facebook: FacebookPlatform) -> None:
    url = authorize_url(facebook.oauth_client(), state="s", redirect_uri=REDIRECT_URI, verifier=None)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert parts.path == "/v24.0/dialog/oauth"
    assert query["client_id"] == APP_ID and query["response_type"] == "code"
    assert query["scope"].split(",") == [
        "pages_show_list",
        "pages_manage_posts",
        "pages_read_engagement",
        "read_insights",
    ]
    assert "code_challenge" not in query


def test_connecting_stores_the_page_token_and_the_user_tokens_expiry(
    facebook: FacebookPlatform, fake_facebook: FakeFacebook
) -> None:
    before = datetime.now(UTC)
    ctx = run(connect(facebook, fake_facebook))
    page_id, name, username = PAGES[0]
    assert (ctx.external_id, ctx.handle, ctx.settings["page_name"]) == (page_id, username, name)
    token = fake_facebook.state.tokens[ctx.tokens.access_token]
    assert (token.kind, token.owner) == ("page", page_id)
    assert ctx.tokens.refresh_token is None
    assert ctx.tokens.expires_at is not None
    assert before + timedelta(days=59) < ctx.tokens.expires_at < before + timedelta(days=61)
    assert ctx.settings["reconnect_by"] == ctx.tokens.expires_at.isoformat()
    assert ctx.settings["token_type"] == "PAGE" and ctx.settings["token_expires_at"] is None
    assert ctx.settings["token_data_access_expires_at"]
    # the short-lived token was exchanged for a long-lived one before /me/accounts was read
    exchanges = fake_facebook.requests_to("GET", r"/v24.0/oauth/access_token")
    assert [r.query.get("grant_type") for r in exchanges] == [None, "fb_exchange_token"]
    (accounts,) = fake_facebook.requests_to("GET", r"/v24.0/me/accounts")
    assert (
        fake_facebook.state.tokens[accounts.query["access_token"]].expires_at
        > datetime.now(UTC).timestamp() + 86400
    )


def test_every_call_carries_the_appsecret_proof(fake_facebook: FakeFacebook) -> None:
    fake_facebook.require_proof = True
    platform = FacebookPlatform(env=facebook_env(fake_facebook))
    ctx = run(connect(platform, fake_facebook))
    assert ctx.external_id == PAGES[0][0]


def test_several_pages_need_a_choice_and_each_page_is_its_own_account() -> None:
    with FakeFacebook(pages=PAGES) as fake:
        platform = FacebookPlatform(env=facebook_env(fake))
        with pytest.raises(Rejected, match="manages 2 Pages") as info:
            run(connect(platform, fake))
        assert "OCMA Bakery (page=105000000000001)" in info.value.message
        bakery = run(connect(platform, fake, page="ocma bakery"))
        garage = run(connect(platform, fake, page=PAGES[1][0]))
        assert (bakery.external_id, garage.external_id) == (PAGES[0][0], PAGES[1][0])
        with pytest.raises(Rejected, match="No managed Page is called 'Cafe'"):
            run(connect(platform, fake, page="Cafe"))


def test_a_page_without_the_create_content_task_is_refused(
    facebook: FacebookPlatform, fake_facebook: FakeFacebook, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ocma_facebook import auth

    def analyst(long_lived, page, now=None):  # type: ignore[no-untyped-def]
        return original(long_lived, {**page, "tasks": ["ANALYZE"]}, now)

    original = auth.page_tokens
    monkeypatch.setattr(auth, "page_tokens", analyst)
    with pytest.raises(Rejected, match="Create Content"):
        run(connect(facebook, fake_facebook))


def test_a_refused_code_is_auth_expired(facebook: FacebookPlatform) -> None:
    with pytest.raises(AuthExpired, match="authorisation code"):
        run(facebook.exchange_code("not-a-code", None, REDIRECT_URI))


def test_account_test_reports_an_invalid_token(
    facebook: FacebookPlatform, fake_facebook: FakeFacebook
) -> None:
    ctx = run(connect(facebook, fake_facebook))
    fake_facebook.expire_tokens()
    with pytest.raises(AuthExpired):
        run(facebook.get_profile(ctx))
    with pytest.raises(AuthExpired, match="no longer valid"):
        from ocma_facebook import auth

        run(auth.debug_token(facebook, ctx.tokens.access_token))
    assert USER_ID  # the fake's user stays the same across logins
