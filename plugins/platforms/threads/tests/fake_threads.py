"""FakeThreads: a loopback imitation of the Threads API (graph.threads.net), as Meta documents it.

Wire format (developers.facebook.com/docs/threads: "Get access tokens and permissions", "Long-lived tokens",
"Posts", "Reply management", "Delete posts", "Publishing limits", "Insights"; the official sample app
fbsamples/threads_api; the Graph conventions of fake_graph):

- `GET /oauth/authorize` is the consent page; `POST /oauth/access_token` (client_id, client_secret,
  grant_type=authorization_code, redirect_uri, code) answers `{access_token, user_id}` (one hour);
  `GET /access_token?grant_type=th_exchange_token` a 60-day token; `GET /refresh_access_token?grant_type=
  th_refresh_token` a new one for a token at least 24 hours old and unexpired.
- `POST /v1.0/{user}/threads` creates a container (`media_type` TEXT, IMAGE, VIDEO, CAROUSEL; `text`,
  `image_url` / `video_url` downloaded from the URL, `is_carousel_item`, `children`, `reply_to_id`,
  `reply_control`, `link_attachment`); with `auto_publish_text=true` a TEXT post is published at once and the
  id is the post's. `GET /v1.0/{container}?fields=id,status,error_message`; `POST /v1.0/{user}/
  threads_publish?creation_id=`. Posts: `GET /{user}/threads`, `GET /{post}/replies`, `GET /{post}`,
  `DELETE /{post}`, `GET /{user}/threads_publishing_limit`, insights in fake_threads_routes.py.
- Text is at most 500 characters, an emoji counting as its UTF-8 bytes.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fake_threads_routes import install_routes

from ocma_core.testing import FakeRequest, FakeResponse
from ocma_core.testing.fake_graph import GraphFake, GraphToken, graph_error, params

APP_ID = "fake-threads-app-id"
APP_SECRET = "fake-threads-app-secret"
USER_ID = "25000000000000001"
USERNAME = "ocma.bakery"
SHORT_TTL_S = 3600
LONG_TTL_S = 5_183_944
REFRESHABLE_AFTER_S = 86_400


@dataclass
class FakeThreadsState:
    """Everything the fake remembers."""

    codes: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, GraphToken] = field(default_factory=dict)
    containers: dict[str, dict[str, Any]] = field(default_factory=dict)
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)
    posts_24h: int = 0
    replies_24h: int = 0
    followers: int = 0


class FakeThreads(GraphFake):
    """The fake with test controls (failure injection, processing, token age, quota)."""

    token_prefix = "THAA"

    def __init__(self, *, port: int = 0) -> None:
        super().__init__(port=port)
        self.state = FakeThreadsState()
        self.post_quota, self.reply_quota = 250, 1000
        install_auth_routes(self)
        install_routes(self)

    # ----- test controls -------------------------------------------------------------------------
    def authorize(self, authorize_url: str, *, approve: bool = True) -> tuple[str, str]:
        """Consent as the user: the code and state the redirect would carry."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        assert urlsplit(authorize_url).path == "/oauth/authorize" and query["client_id"] == APP_ID
        code = "TH" + secrets.token_urlsafe(24)
        if approve:
            self.state.codes[code] = query["redirect_uri"]
        return code, query.get("state", "")

    def published_texts(self) -> list[str]:
        """Texts of the posts (and replies) the account holds now."""
        with self.lock:
            return [str(p["text"]) for p in self.state.posts.values()]

    def parent_of(self, external_id: str) -> str | None:
        """The post this one replies to."""
        post = self.state.posts.get(external_id)
        return post.get("reply_to") if post else None

    def rate_limited(self, retry_after_s: float) -> FakeResponse:
        """An injected rate limit: code 4 with the account's usage at 100% (whole minutes to wait)."""
        reading = {"call_count": 100, "total_cputime": 10, "total_time": 20}
        reading["estimated_time_to_regain_access"] = max(1, -(-int(retry_after_s) // 60))
        headers = {"X-Business-Use-Case-Usage": json.dumps({USER_ID: [reading]})}
        return graph_error("(#4) Application request limit reached", 4, headers=headers)


def install_auth_routes(fake: FakeThreads) -> None:
    """Token endpoints and /me."""

    @fake.route("POST", r"/oauth/access_token")
    def code_exchange(request: FakeRequest) -> FakeResponse:
        form = params(request)
        if form.get("client_id") != APP_ID or form.get("client_secret") != APP_SECRET:
            return graph_error("Error validating application.", 101)
        redirect = fake.state.codes.pop(form.get("code", ""), None)
        if form.get("grant_type") != "authorization_code" or redirect is None:
            return graph_error("Invalid authorization code", 100, kind="OAuthException")
        if redirect != form.get("redirect_uri"):
            return graph_error("Error validating verification code: redirect_uri does not match", 100)
        return FakeResponse(200, {"access_token": fake.mint("short", SHORT_TTL_S), "user_id": int(USER_ID)})

    def long_lived(request: FakeRequest, grant: str, from_kind: str, min_age: float) -> FakeResponse:
        if request.query.get("grant_type") != grant:
            return graph_error("Invalid grant_type", 100)
        if grant == "th_exchange_token" and request.query.get("client_secret") != APP_SECRET:
            return graph_error("Error validating client secret.", 1)
        token = fake.caller(request)
        if isinstance(token, FakeResponse):
            return token
        if token.kind != from_kind or time.time() - token.issued_at < min_age:
            return graph_error(f"This token cannot be used with {grant}", 100)
        value = fake.mint("long", LONG_TTL_S)
        return FakeResponse(200, {"access_token": value, "token_type": "bearer", "expires_in": LONG_TTL_S})

    @fake.route("GET", r"/access_token")
    def exchange(request: FakeRequest) -> FakeResponse:
        return long_lived(request, "th_exchange_token", "short", 0)

    @fake.route("GET", r"/refresh_access_token")
    def refresh(request: FakeRequest) -> FakeResponse:
        return long_lived(request, "th_refresh_token", "long", REFRESHABLE_AFTER_S)

    @fake.route("GET", r"/v1\.0/me")
    def me(request: FakeRequest) -> FakeResponse:
        token = fake.caller(request)
        if isinstance(token, FakeResponse):
            return token
        return FakeResponse(200, {"id": USER_ID, "username": USERNAME, "name": "OCMA Bakery"})
