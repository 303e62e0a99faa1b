"""OAuth against FakePinterest: the consent URL, Basic client auth, continuous refresh, revocation, boards."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest
from fake_pinterest import CLIENT_ID, CLIENT_SECRET, FakePinterest
from ocma_pinterest import PinterestPlatform
from pinterest_testkit import REDIRECT, connect, platform_for

from ocma_core import AccountContext, AuthExpired, Rejected
from ocma_core.oauth_client import authorize_url
from ocma_core.testing.conformance import run


def test_consent_url_asks_www_pinterest_for_comma_separated_scopes(pinterest: PinterestPlatform) -> None:
    url = authorize_url(pinterest.oauth_client(), state="s1", redirect_uri=REDIRECT, verifier=None)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert parts.path == "/oauth/" and "code_challenge" not in query
    assert query["scope"] == "boards:read,boards:write,pins:read,pins:write,user_accounts:read"
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID


def test_code_exchange_uses_basic_client_auth_and_lists_the_boards(
    pinterest_ctx: AccountContext, fake_pinterest: FakePinterest
) -> None:
    (exchange,) = fake_pinterest.requests_to("POST", "/v5/oauth/token")
    expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert exchange.header("authorization") == f"Basic {expected}"
    assert "client_secret" not in exchange.form() and exchange.form()["grant_type"] == "authorization_code"
    (board_id,) = fake_pinterest.state.boards
    assert pinterest_ctx.settings["default_board_id"] == board_id  # the only board is the default
    assert pinterest_ctx.tokens.refresh_expires_at is not None
    assert pinterest_ctx.handle == "ocma_pins" and pinterest_ctx.external_id.isdigit()


def test_several_boards_need_a_choice_and_a_wrong_one_is_named() -> None:
    with FakePinterest(boards=3) as fake:
        platform = platform_for(fake)
        ctx = connect(platform, fake)
        assert "default_board_id" not in ctx.settings and len(ctx.settings["boards"]) == 3
        chosen = connect(platform, fake, board="travel")
        assert chosen.settings["default_board_name"] == "Travel"
        with pytest.raises(Rejected, match="Spring recipes"):
            connect(platform, fake, board="Knitting")


def test_refresh_renews_the_refresh_token_and_the_old_app_flag_is_sent() -> None:
    with FakePinterest(legacy_refresh=True) as fake:
        plain = platform_for(fake)
        ctx = connect(plain, fake)
        kept = run(plain.refresh(ctx))  # an old app without the flag: no new refresh token
        assert kept.refresh_token == ctx.tokens.refresh_token and kept.access_token != ctx.tokens.access_token
        flagged = platform_for(fake, OCMA_PINTEREST_CONTINUOUS_REFRESH="true")
        fresh = run(flagged.refresh(ctx))
        assert fresh.refresh_token and fresh.refresh_token != ctx.tokens.refresh_token
        assert fake.requests_to("POST", "/v5/oauth/token")[-1].form()["continuous_refresh"] == "true"
        assert fresh.refresh_expires_at is not None
        assert fake.state.spec_errors == []


def test_revoke_ends_the_grant_and_a_dead_refresh_token_means_reconnect(
    pinterest: PinterestPlatform, pinterest_ctx: AccountContext, fake_pinterest: FakePinterest
) -> None:
    run(pinterest.revoke(pinterest_ctx))
    assert fake_pinterest.state.revoked == [pinterest_ctx.tokens.refresh_token]
    with pytest.raises(AuthExpired):
        run(pinterest.get_profile(pinterest_ctx))
    with pytest.raises(AuthExpired):
        run(pinterest.refresh(pinterest_ctx))
    assert fake_pinterest.state.spec_errors == []
