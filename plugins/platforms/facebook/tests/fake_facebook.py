"""FakeFacebook: a loopback imitation of the Graph API endpoints a Pages integration calls, as Meta documents them.

Wire format (developers.facebook.com: Facebook Login "Manually Build a Login Flow", "Long-Lived Access
Tokens", Pages API "Posts", "Page Access Tokens", Graph API "Handling Errors", "Rate Limiting", "debug_token"):

- `GET /dialog/oauth` is the consent page (`authorize()` plays the user); `GET /v{N}/oauth/access_token` with
  `client_id, redirect_uri, client_secret, code` gives a short-lived user token, with
  `grant_type=fb_exchange_token&fb_exchange_token=` a long-lived one (`expires_in` 5184000).
- `GET /v{N}/me/accounts` lists the Pages the user manages with each Page's token; `GET /v{N}/me` answers for
  the token's owner (the Page, for a Page token); `GET /v{N}/debug_token` needs the app token `id|secret`.
- Every call takes the token as `access_token` (query or form) or `Authorization: Bearer`; an
  `appsecret_proof` that does not match is refused (and required when `require_proof` is set).
- Errors are the envelope `{"error": {message, type, code, error_subcode?, fbtrace_id}}` with HTTP 400 (500
  for server errors); rate limiting is code 32 (Page) with `X-Business-Use-Case-Usage` saying when access
  returns. Every answer carries `X-App-Usage`; Page-token answers also `X-Business-Use-Case-Usage`.
Posts, photos, videos (resumable upload), deletion and metrics: fake_facebook_pages.py.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import itertools
import json
import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fake_facebook_pages import install_page_routes

from ocma_core.testing import FakeRequest, FakeResponse, FakeServer
from ocma_core.testing.fake_graph import graph_error, params

APP_ID = "fake-fb-app-id"
APP_SECRET = "fake-fb-app-secret"
VERSION = "v24.0"
USER_ID = "10160000000000001"
PAGES = (("105000000000001", "OCMA Bakery", "ocmabakery"), ("105000000000002", "OCMA Garage", "ocmagarage"))
SHORT_TTL_S = 5400  # a short-lived user token lasts one to two hours
LONG_TTL_S = 5_184_000  # 60 days
DATA_ACCESS_TTL_S = 7_776_000  # 90 days
SCOPES = ("pages_show_list", "pages_manage_posts", "pages_read_engagement", "read_insights")


@dataclass
class Token:
    """Who a token acts for."""

    kind: str  # "user", "page" or "app"
    owner: str
    expires_at: float  # 0: never
    scopes: tuple[str, ...] = SCOPES


@dataclass
class FakeFacebookState:
    """Everything the fake remembers."""

    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)
    posts: dict[str, dict[str, Any]] = field(
        default_factory=dict
    )  # id -> {page, message, link, created, ...}
    photos: dict[str, dict[str, Any]] = field(
        default_factory=dict
    )  # photo id -> {page, bytes, published, ...}
    fetched: list[str] = field(default_factory=list)  # media URLs the fake downloaded
    videos: dict[str, dict[str, Any]] = field(default_factory=dict)  # video id -> upload and processing state
    comments: dict[str, dict[str, Any]] = field(default_factory=dict)  # comment id -> {post, message, from}


class FakeFacebook(FakeServer):
    """The fake Graph API with test controls (failure injection, token expiry, usage, metrics)."""

    def __init__(self, *, pages: tuple[tuple[str, str, str], ...] = PAGES[:1], port: int = 0) -> None:
        super().__init__(port=port)
        self.state = FakeFacebookState()
        for page_id, name, username in pages:
            self.state.pages[page_id] = {
                "id": page_id,
                "name": name,
                "username": username,
                "followers_count": 0,
                "fan_count": 0,
            }
        self.require_proof = False
        self.usage: dict[str, float] = {"call_count": 1, "total_time": 1, "total_cputime": 1}
        self.regain_minutes = 0
        self.valid_metrics = {"post_clicks", "post_reactions_by_type_total", "post_total_media_view_unique"}
        self.injected: collections.deque[list[Any]] = collections.deque()  # [kind, retry_after_s, skip]
        self.video_chunk = 1024 * 1024  # bytes Meta asks for per transfer
        self.video_polls = 0  # status reads a finished video stays "processing"
        self.video_error: str | None = None  # processing ends in error with this message
        self._ids = itertools.count(int(time.time() * 1000) % 10**12 * 1000)
        self._id_lock = threading.Lock()
        install_auth_routes(self)
        install_page_routes(self)

    # ----- test controls -------------------------------------------------------------------------
    def authorize(self, authorize_url: str, *, approve: bool = True) -> tuple[str, str]:
        """Consent as the user: the code and state the redirect would carry."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        assert query["client_id"] == APP_ID and query.get("response_type", "code") == "code"
        assert urlsplit(authorize_url).path == f"/{VERSION}/dialog/oauth", authorize_url
        code = "AQ" + secrets.token_urlsafe(24)
        if approve:
            self.state.codes[code] = {"redirect_uri": query["redirect_uri"], "scope": query.get("scope", "")}
        return code, query.get("state", "")

    def fail_next(self, kind: str, *, retry_after_s: float = 30.0, skip: int = 0) -> None:
        """Fail a coming create call (feed post, photo or comment) after `skip` succeed."""
        if kind not in ("rate_limit", "auth", "server_error", "timeout_after_store"):
            raise ValueError(kind)
        self.injected.append([kind, retry_after_s, skip])

    def take_injected(self) -> list[Any] | None:
        """The injected failure due now, if any."""
        with self.lock:
            if not self.injected:
                return None
            if self.injected[0][-1] > 0:
                self.injected[0][-1] -= 1
                return None
            return self.injected.popleft()

    def expire_tokens(self) -> None:
        """Every user and Page token stops working (code 190, subcode 463)."""
        with self.lock:
            for token in self.state.tokens.values():
                if token.kind != "app":
                    token.expires_at = time.time() - 1

    def published_texts(self) -> list[str]:
        """Messages of the posts the Pages hold now."""
        with self.lock:
            return [str(p.get("message", "")) for p in self.state.posts.values() if not p.get("deleted")]

    def parent_of(self, external_id: str) -> str | None:
        """The post a comment is on (None for a post)."""
        found = self.state.comments.get(external_id)
        return str(found["post"]) if found else None

    def comment_texts(self, post_id: str) -> list[str]:
        """Messages of the comments under a post, oldest first."""
        with self.lock:
            return [c["message"] for c in self.state.comments.values() if c["post"] == post_id]

    def next_id(self) -> str:
        """A new numeric object id."""
        with self._id_lock:
            return str(next(self._ids))

    # ----- tokens --------------------------------------------------------------------------------
    def mint(self, kind: str, owner: str, ttl_s: float) -> str:
        """A new token for `owner`."""
        prefix = {"user": "EAAU", "page": "EAAP"}.get(kind, "EAAX")
        value = prefix + secrets.token_urlsafe(32)
        with self.lock:
            self.state.tokens[value] = Token(kind, owner, time.time() + ttl_s if ttl_s else 0)
        return value

    def token_of(self, request: FakeRequest) -> str:
        """The access token a request carries (query, form or bearer)."""
        return params(request).get("access_token") or request.bearer() or ""

    def caller(self, request: FakeRequest, kind: str | None = None) -> Token | FakeResponse:
        """The valid token of a request, or Meta's error for a missing, bad, expired or mismatched one."""
        value = self.token_of(request)
        if not value:
            return graph_error("An active access token must be used to query information.", 2500)
        if value == f"{APP_ID}|{APP_SECRET}":
            return Token("app", APP_ID, 0)
        token = self.state.tokens.get(value)
        if token is None:
            return graph_error("Invalid OAuth access token - Cannot parse access token", 190)
        if token.expires_at and token.expires_at < time.time():
            return graph_error(
                "Error validating access token: Session has expired.", 190, 463, headers=self.usage_headers()
            )
        proof = params(request).get("appsecret_proof", "")
        expected = hmac.new(APP_SECRET.encode(), value.encode(), hashlib.sha256).hexdigest()
        if (proof or self.require_proof) and not hmac.compare_digest(proof, expected):
            return graph_error("Invalid appsecret_proof provided in the API argument", 100)
        if kind and token.kind != kind:
            return graph_error(f"(#200) This call requires a {kind} access token.", 200)
        return token

    def usage_headers(self, page: str | None = None) -> dict[str, str]:
        """X-App-Usage always; X-Business-Use-Case-Usage for a Page's calls."""
        headers = {"X-App-Usage": json.dumps({k: int(v) for k, v in self.usage.items()})}
        if page:
            reading = {"type": "pages", **{k: int(v) for k, v in self.usage.items()}}
            reading["estimated_time_to_regain_access"] = self.regain_minutes
            headers["X-Business-Use-Case-Usage"] = json.dumps({page: [reading]})
        return headers

    def injected_failure(self, kind: str, retry_after_s: float, page: str) -> FakeResponse | None:
        """The answer for an injected failure (None for timeout_after_store, which stores first)."""
        if kind == "rate_limit":
            headers = self.usage_headers(page)
            reading = {"type": "pages", "call_count": 100, "total_cputime": 20, "total_time": 30}
            reading["estimated_time_to_regain_access"] = max(1, math.ceil(retry_after_s / 60))
            headers["X-Business-Use-Case-Usage"] = json.dumps({page: [reading]})
            return graph_error("(#32) Page request limit reached", 32, headers=headers)
        if kind == "auth":
            return graph_error("Error validating access token: Session has expired.", 190, 463)
        if kind == "server_error":
            return graph_error(
                "An unexpected error has occurred. Please retry your request later.",
                2,
                status=500,
                is_transient=True,
            )
        return None


def install_auth_routes(fake: FakeFacebook) -> None:
    """Login dialog, token endpoints, /me, /me/accounts and debug_token."""
    v = VERSION

    @fake.route("GET", rf"/{v}/oauth/access_token")
    def access_token(request: FakeRequest) -> FakeResponse:
        q = request.query
        if q.get("client_id") != APP_ID or q.get("client_secret") != APP_SECRET:
            return graph_error("Error validating client secret.", 1, kind="OAuthException")
        if q.get("grant_type") == "fb_exchange_token":
            short = fake.state.tokens.get(q.get("fb_exchange_token", ""))
            if short is None or short.kind != "user" or (short.expires_at and short.expires_at < time.time()):
                return graph_error("Error validating access token: Session has expired.", 190, 463)
            token = fake.mint("user", short.owner, LONG_TTL_S)
            return FakeResponse(
                200, {"access_token": token, "token_type": "bearer", "expires_in": LONG_TTL_S}
            )
        grant = fake.state.codes.pop(q.get("code", ""), None)
        if grant is None:
            return graph_error("This authorization code has been used.", 100, 36009)
        if grant["redirect_uri"] != q.get("redirect_uri"):
            return graph_error(
                "Error validating verification code. Please make sure your redirect_uri is identical to the "
                "one you used in the OAuth dialog request",
                100,
                36008,
            )
        token = fake.mint("user", USER_ID, SHORT_TTL_S)
        return FakeResponse(200, {"access_token": token, "token_type": "bearer", "expires_in": SHORT_TTL_S})

    @fake.route("GET", rf"/{v}/me/accounts")
    def me_accounts(request: FakeRequest) -> FakeResponse:
        token = fake.caller(request, "user")
        if isinstance(token, FakeResponse):
            return token
        data = []
        for page in fake.state.pages.values():
            page_token = fake.mint("page", page["id"], 0)  # from a long-lived user token: no expiry
            data.append(
                {
                    "access_token": page_token,
                    "category": "Bakery",
                    "category_list": [{"id": "2500", "name": "Bakery"}],
                    "name": page["name"],
                    "id": page["id"],
                    "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
                }
            )
        cursors = {"before": "QVFIUmx", "after": "QVFIUkt"}
        return FakeResponse(200, {"data": data, "paging": {"cursors": cursors}}, fake.usage_headers())

    @fake.route("GET", rf"/{v}/me")
    def me(request: FakeRequest) -> FakeResponse:
        token = fake.caller(request)
        if isinstance(token, FakeResponse):
            return token
        if token.kind == "page":
            page = fake.state.pages[token.owner]
            body = {k: page[k] for k in ("id", "name", "username")}
            body["link"] = f"https://www.facebook.com/{page['username']}"
            return FakeResponse(200, body, fake.usage_headers(token.owner))
        return FakeResponse(200, {"id": token.owner, "name": "Ada Baker"}, fake.usage_headers())

    @fake.route("GET", rf"/{v}/debug_token")
    def debug_token(request: FakeRequest) -> FakeResponse:
        app = fake.caller(request, "app")
        if isinstance(app, FakeResponse):
            return app
        token = fake.state.tokens.get(request.query.get("input_token", ""))
        if token is None:
            return graph_error("Invalid OAuth access token - Cannot parse access token", 190)
        valid = not token.expires_at or token.expires_at > time.time()
        data: dict[str, Any] = {
            "app_id": APP_ID,
            "type": token.kind.upper(),
            "application": "OCMA test app",
            "data_access_expires_at": int(time.time() + DATA_ACCESS_TTL_S),
            "expires_at": int(token.expires_at),
            "is_valid": valid,
            "scopes": list(token.scopes),
            "user_id": USER_ID,
        }
        if token.kind == "page":
            data["profile_id"] = token.owner
        if not valid:
            data["error"] = {"code": 190, "message": "Session has expired", "subcode": 463}
        return FakeResponse(200, {"data": data}, fake.usage_headers())
