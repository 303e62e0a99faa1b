"""OAuth against LinkedIn's rules: no PKCE, secret in the form, 60-day tokens, partner-only refresh tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from fake_linkedin import CLIENT_ID, CLIENT_SECRET, FakeLinkedIn
from linkedin_testkit import REDIRECT, connect, linkedin_env, run
from ocma_linkedin import LinkedInPlatform
from ocma_linkedin.auth import MEMBER_SCOPES, ORGANIZATION_SCOPES, resolve_scopes

from ocma_core import AuthExpired, ConfigError
from ocma_core.oauth_client import authorize_url


def test_scope_keywords_and_literals() -> None:
    assert resolve_scopes(None) == MEMBER_SCOPES
    assert resolve_scopes("member organization") == MEMBER_SCOPES + ORGANIZATION_SCOPES
    assert resolve_scopes("openid,profile w_member_social r_member_postAnalytics") == (
        "openid",
        "profile",
        "w_member_social",
        "r_member_postAnalytics",
    )


def test_authorize_url_is_linkedins_without_pkce(fake_linkedin: FakeLinkedIn) -> None:
    platform = LinkedInPlatform(
        env={
            "OCMA_LINKEDIN_CLIENT_ID": "cid",
            "OCMA_LINKEDIN_CLIENT_SECRET": "s",
            "OCMA_LINKEDIN_SCOPES": "member organization",
        }
    )
    client = platform.oauth_client()
    assert client.pkce is False
    url = authorize_url(client, state="st4te", redirect_uri=REDIRECT, verifier="ignored-verifier")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://www.linkedin.com/oauth/v2/authorization"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert (
        query["response_type"] == "code" and query["state"] == "st4te" and query["redirect_uri"] == REDIRECT
    )
    assert query["scope"].split() == list(MEMBER_SCOPES + ORGANIZATION_SCOPES)
    assert "code_challenge" not in query
    assert client.token_url == "https://www.linkedin.com/oauth/v2/accessToken"


def test_missing_configuration_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="OCMA_LINKEDIN_CLIENT_ID"):
        LinkedInPlatform(env={}).oauth_client()


def test_code_exchange_sends_secret_in_form(linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn) -> None:
    ctx = connect(linkedin, fake_linkedin)
    exchange = fake_linkedin.requests_to("POST", "/oauth/v2/accessToken")[-1]
    form = exchange.form()
    assert form["client_id"] == CLIENT_ID and form["client_secret"] == CLIENT_SECRET
    assert form["grant_type"] == "authorization_code" and form["redirect_uri"] == REDIRECT
    assert "authorization" not in exchange.headers and "code_verifier" not in form
    now = datetime.now(UTC)
    tokens = ctx.tokens
    assert tokens.expires_at and abs(tokens.expires_at - (now + timedelta(days=60))) < timedelta(minutes=1)
    assert tokens.refresh_expires_at and abs(
        tokens.refresh_expires_at - (now + timedelta(days=365))
    ) < timedelta(minutes=1)
    assert set(tokens.scopes) >= {"openid", "w_member_social", "w_organization_social"}
    assert ctx.settings["reconnect_by"] == tokens.refresh_expires_at.isoformat()
    assert ctx.settings["person_urn"] == "urn:li:person:782bbtaQ" and ctx.handle == "Ada Lovelace"


def test_refresh_keeps_token_and_fixed_expiry(
    linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn
) -> None:
    ctx = connect(linkedin, fake_linkedin)
    fake_linkedin.expire_tokens()
    with pytest.raises(AuthExpired):
        run(linkedin.get_profile(ctx))
    fresh = run(linkedin.refresh(ctx))
    assert fresh.access_token != ctx.tokens.access_token
    assert fresh.refresh_token == ctx.tokens.refresh_token  # LinkedIn does not rotate refresh tokens
    assert fresh.refresh_expires_at and ctx.tokens.refresh_expires_at
    assert abs(fresh.refresh_expires_at - ctx.tokens.refresh_expires_at) < timedelta(seconds=5)
    form = fake_linkedin.requests_to("POST", "/oauth/v2/accessToken")[-1].form()
    assert form["grant_type"] == "refresh_token" and form["client_secret"] == CLIENT_SECRET


def test_no_refresh_token_means_reconnect_by_date() -> None:
    with FakeLinkedIn(partner_app=False) as fake:
        platform = LinkedInPlatform(env=linkedin_env(fake))
        ctx = connect(platform, fake)
        assert ctx.tokens.refresh_token is None and ctx.tokens.expires_at is not None
        by = ctx.tokens.expires_at.strftime("%Y-%m-%d")
        assert ctx.settings["reconnect_by"] == ctx.tokens.expires_at.isoformat()
        with pytest.raises(AuthExpired, match=f"reconnect the account by {by}") as info:
            run(platform.refresh(ctx))
        assert "approved partner apps" in info.value.message and info.value.code == "no_refresh_token"
        assert not fake.requests_to("POST", "/oauth/v2/accessToken")[1:]  # no refresh call was attempted


def test_expired_refresh_token(linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn) -> None:
    ctx = connect(linkedin, fake_linkedin)
    ctx.tokens.refresh_expires_at = datetime.now(UTC) - timedelta(days=1)
    with pytest.raises(AuthExpired, match="365 days"):
        run(linkedin.refresh(ctx))


def test_revoked_and_invalid_tokens(linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn) -> None:
    ctx = connect(linkedin, fake_linkedin)
    fake_linkedin.revoke_tokens()
    with pytest.raises(AuthExpired, match="revoked") as info:
        run(linkedin.get_profile(ctx))
    assert info.value.code == "REVOKED_ACCESS_TOKEN"
    with pytest.raises(AuthExpired, match=r"invalid_request|invalid or expired"):
        run(linkedin.refresh(ctx))


def test_wrong_client_secret_is_refused(fake_linkedin: FakeLinkedIn) -> None:
    platform = LinkedInPlatform(env=linkedin_env(fake_linkedin, client_secret="wrong"))
    code, _ = fake_linkedin.authorize(
        authorize_url(platform.oauth_client(), state="s", redirect_uri=REDIRECT, verifier=None)
    )
    with pytest.raises(AuthExpired, match="Client authentication failed"):
        run(platform.exchange_code(code, None, REDIRECT))
