"""FakeInstagram: a loopback imitation of the Instagram API with Instagram Login, as Meta documents it.

Wire format (developers.facebook.com/docs/instagram-platform: "Business Login for Instagram", "Get
long-lived access tokens", "Refresh access tokens", "Content Publishing", "IG Container", "Insights",
"Handling errors"; the Graph conventions of fake_graph):

- `GET /oauth/authorize` is the consent page (`authorize()` plays the user); `POST /oauth/access_token`
  (form: client_id, client_secret, grant_type=authorization_code, redirect_uri, code) answers
  `{"data": [{"access_token", "user_id", "permissions"}]}` with a one-hour token;
  `GET /access_token?grant_type=ig_exchange_token&client_secret&access_token` a 60-day one;
  `GET /refresh_access_token?grant_type=ig_refresh_token&access_token` a new 60-day one, only for a token at
  least 24 hours old and not expired.
- The Facebook Login variant: `GET /dialog/oauth`, `GET /v{N}/oauth/access_token` (code, then
  `fb_exchange_token`) and `GET /v{N}/me/accounts?fields=instagram_business_account{id,username}`.
- `GET /v{N}/me?fields=user_id,username,...`; containers, publishing, media and insights in
  fake_instagram_media.py. Every answer carries `X-Business-Use-Case-Usage` (type `instagram`).
"""

from __future__ import annotations

import json
import math
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fake_instagram_media import install_media_routes

from ocma_core.testing import FakeRequest, FakeResponse
from ocma_core.testing.fake_graph import GraphFake, GraphToken, graph_error, params

APP_ID = "fake-ig-app-id"
APP_SECRET = "fake-ig-app-secret"
VERSION = "v24.0"
IG_USER_ID = "17841400000000001"
APP_SCOPED_ID = "7000000000000001"
USERNAME = "ocma.bakery"
PAGE_ID = "105000000000001"  # the Facebook Page the account is linked to (the Facebook Login variant)
SHORT_TTL_S = 3600
LONG_TTL_S = 5_183_944
REFRESHABLE_AFTER_S = 86_400
SCOPES = (
    "instagram_business_basic",
    "instagram_business_content_publish",
    "instagram_business_manage_insights",
    "instagram_business_manage_comments",
)


@dataclass
class FakeInstagramState:
    """Everything the fake remembers."""

    codes: dict[str, str] = field(default_factory=dict)  # code -> redirect_uri
    tokens: dict[str, GraphToken] = field(default_factory=dict)
    containers: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)  # media URLs downloaded (as Meta's servers would)
    published_24h: int = 0
    followers: int = 0


class FakeInstagram(GraphFake):
    """The fake with test controls: failure injection, processing delays, token age, quota, insights."""

    token_prefix = "IGAA"

    def __init__(self, *, port: int = 0) -> None:
        super().__init__(port=port)
        self.state = FakeInstagramState()
        self.quota_total = 100
        self.usage: dict[str, float] = {"call_count": 1, "total_cputime": 1, "total_time": 1}
        self.regain_minutes = 0
        self.insights_ready = True  # False: a new post's insights come back as an empty set
        install_auth_routes(self)
        install_media_routes(self)

    # ----- test controls -------------------------------------------------------------------------
    def authorize(self, authorize_url: str, *, approve: bool = True) -> tuple[str, str]:
        """Consent as the user: the code and state the redirect would carry."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        path = urlsplit(authorize_url).path
        assert path in ("/oauth/authorize", f"/{VERSION}/dialog/oauth"), authorize_url
        assert query["client_id"] == APP_ID and query["response_type"] == "code"
        code = "AQ" + secrets.token_urlsafe(24)
        if approve:
            self.state.codes[code] = query["redirect_uri"]
        if path.endswith("/dialog/oauth"):  # Facebook Login (the variant with a Page)
            return code, query.get("state", "")
        return code + "#_", query.get("state", "")  # Meta appends "#_" to Instagram Login's redirect

    def published_texts(self) -> list[str]:
        """Captions of the media the account holds now."""
        with self.lock:
            return [str(m.get("caption", "")) for m in self.state.media.values()]

    def parent_of(self, external_id: str) -> str | None:
        """Instagram posts are no threads."""
        return None

    def usage_headers(self) -> dict[str, str]:
        """X-Business-Use-Case-Usage for the account (type instagram)."""
        reading = {"type": "instagram", **{k: int(v) for k, v in self.usage.items()}}
        reading["estimated_time_to_regain_access"] = self.regain_minutes
        return {"X-Business-Use-Case-Usage": json.dumps({IG_USER_ID: [reading]})}

    def rate_limited(self, retry_after_s: float) -> FakeResponse:
        """An injected rate limit: code 80002 with the account's usage at 100% (whole minutes to wait)."""
        reading = {"type": "instagram", "call_count": 100, "total_cputime": 10, "total_time": 20}
        reading["estimated_time_to_regain_access"] = max(1, math.ceil(retry_after_s / 60))
        headers = {"X-Business-Use-Case-Usage": json.dumps({IG_USER_ID: [reading]})}
        return graph_error(
            "(#80002) There have been too many calls to this Instagram account.", 80002, headers=headers
        )


def install_auth_routes(fake: FakeInstagram) -> None:
    """Token endpoints and /me."""

    @fake.route("POST", r"/oauth/access_token")
    def code_exchange(request: FakeRequest) -> FakeResponse:
        form = params(request)
        if form.get("client_id") != APP_ID or form.get("client_secret") != APP_SECRET:
            return graph_error("Invalid platform app", 101, kind="OAuthException")
        if form.get("grant_type") != "authorization_code":
            return graph_error("Invalid grant_type", 100)
        redirect = fake.state.codes.pop(form.get("code", ""), None)
        if redirect is None:
            return graph_error("This authorization code has been used", 100, kind="OAuthException")
        if redirect != form.get("redirect_uri"):
            return graph_error("Error validating verification code. redirect_uri does not match", 100)
        token = fake.mint("short", SHORT_TTL_S)
        entry = {"access_token": token, "user_id": IG_USER_ID, "permissions": ",".join(SCOPES)}
        return FakeResponse(200, {"data": [entry]})

    @fake.route("GET", r"/access_token")
    def exchange(request: FakeRequest) -> FakeResponse:
        q = request.query
        if q.get("grant_type") != "ig_exchange_token" or q.get("client_secret") != APP_SECRET:
            return graph_error("Invalid grant_type or client_secret", 100)
        token = fake.caller(request)
        if isinstance(token, FakeResponse):
            return token
        if token.kind != "short":
            return graph_error("Only short-lived tokens can be exchanged", 100)
        value = fake.mint("long", LONG_TTL_S)
        return FakeResponse(200, {"access_token": value, "token_type": "bearer", "expires_in": LONG_TTL_S})

    @fake.route("GET", r"/refresh_access_token")
    def refresh(request: FakeRequest) -> FakeResponse:
        if request.query.get("grant_type") != "ig_refresh_token":
            return graph_error("Invalid grant_type", 100)
        token = fake.caller(request)
        if isinstance(token, FakeResponse):
            return token
        if token.kind != "long" or time.time() - token.issued_at < REFRESHABLE_AFTER_S:
            return graph_error("Token can be refreshed only when it is at least 24 hours old", 100)
        value = fake.mint("long", LONG_TTL_S)
        return FakeResponse(200, {"access_token": value, "token_type": "bearer", "expires_in": LONG_TTL_S})

    @fake.route("GET", rf"/{VERSION}/oauth/access_token")
    def facebook_token(request: FakeRequest) -> FakeResponse:
        """Facebook Login: the code, then fb_exchange_token (the Facebook Login variant)."""
        q = request.query
        if q.get("client_id") != APP_ID or q.get("client_secret") != APP_SECRET:
            return graph_error("Error validating client secret.", 1)
        if q.get("grant_type") == "fb_exchange_token":
            short = fake.state.tokens.get(q.get("fb_exchange_token", ""))
            if short is None or short.kind != "fb-short" or short.expires_at < time.time():
                return graph_error("Error validating access token: Session has expired.", 190, 463)
            value = fake.mint("fb-long", 5_184_000)
            return FakeResponse(200, {"access_token": value, "token_type": "bearer", "expires_in": 5_184_000})
        redirect = fake.state.codes.pop(q.get("code", ""), None)
        if redirect is None or redirect != q.get("redirect_uri"):
            return graph_error("Error validating verification code.", 100, 36008)
        value = fake.mint("fb-short", 5400)
        return FakeResponse(200, {"access_token": value, "token_type": "bearer", "expires_in": 5400})

    @fake.route("GET", rf"/{VERSION}/me/accounts")
    def pages(request: FakeRequest) -> FakeResponse:
        """The user's Pages with the Instagram account linked to each (`instagram_business_account`)."""
        token = fake.caller(request)
        if isinstance(token, FakeResponse):
            return token
        if token.kind != "fb-long":
            return graph_error("(#200) This call requires a user access token.", 200)
        page_token = fake.mint("page", 10 * 365 * 86400)
        linked = {"id": IG_USER_ID, "username": USERNAME}
        data = [
            {
                "id": PAGE_ID,
                "name": "OCMA Bakery",
                "access_token": page_token,
                "instagram_business_account": linked,
            },
            {"id": "105000000000009", "name": "No Instagram here", "access_token": fake.mint("page", 86400)},
        ]
        return FakeResponse(200, {"data": data, "paging": {"cursors": {"before": "b", "after": "a"}}})

    @fake.route("GET", rf"/{VERSION}/me")
    def me(request: FakeRequest) -> FakeResponse:
        token = fake.caller(request)
        if isinstance(token, FakeResponse):
            return token
        body = {
            "id": APP_SCOPED_ID,
            "user_id": IG_USER_ID,
            "username": USERNAME,
            "name": "OCMA Bakery",
            "account_type": "Business",
        }
        wanted = set((request.query.get("fields") or "id").split(","))
        return FakeResponse(
            200, {k: v for k, v in body.items() if k in wanted or k == "id"}, fake.usage_headers()
        )
