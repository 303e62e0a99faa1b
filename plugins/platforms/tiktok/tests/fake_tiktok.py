"""FakeTikTok: a loopback imitation of TikTok's Login Kit v2, Content Posting API and Display API.

Wire format as TikTok documents it (developers.tiktok.com/doc: login-kit-web, oauth-user-access-token-management,
content-posting-api-reference-direct-post, -upload-video, -photo-post, -query-creator-info,
-get-video-status, content-posting-api-media-transfer-guide, tiktok-api-v2-video-query, -video-list,
tiktok-api-v2-get-user-info, tiktok-api-v2-error-handling, webhooks-verification):

- `GET /v2/auth/authorize/` is the consent page (`authorize()` plays the user); `POST /v2/oauth/token/`
  (form: client_key, client_secret, code, grant_type, redirect_uri, code_verifier) answers the flat token
  object; a refresh answers a new refresh token and kills the old one; `POST /v2/oauth/revoke/`.
- Every API answer is the envelope `{"data": {...}, "error": {"code", "message", "log_id"}}`.
- Posting routes (creator info, inits, chunk PUTs, status) are in fake_tiktok_posts.py.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fake_tiktok_posts import install_post_routes

from ocma_core.testing import FakeRequest, FakeResponse, FakeServer

CLIENT_KEY = "fakeclientkey0001"
CLIENT_SECRET = "fake-tiktok-client-secret"
OPEN_ID = "-000QpbY8lAmyL7dcMXw4eCxUq8Jh5eTJCfd"
USERNAME = "ocma.bakery"
ACCESS_TTL_S = 7200
REFRESH_TTL_S = 15_552_000  # 180 days
MiB = 1024 * 1024


@dataclass
class Publish:
    """One publish: what was initialised, the bytes received so far, where it stands."""

    publish_id: str
    kind: str  # "video" or "photo"
    mode: str  # "direct" or "inbox"
    text: str
    privacy: str
    source: str
    post_info: dict[str, Any] = field(default_factory=dict)
    video_size: int = 0
    chunk_size: int = 0
    chunk_count: int = 0
    received: bytearray = field(default_factory=bytearray)
    chunks_received: int = 0
    status: str = "PROCESSING_UPLOAD"
    fail_reason: str = ""
    polls_left: int = 0  # status reads before it leaves processing/moderation
    final_fail: str = ""  # set: ends FAILED with this reason instead
    post_id: int | None = None
    created: float = field(default_factory=time.time)


@dataclass
class FakeTikTokState:
    """Everything the fake remembers."""

    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    access: dict[str, float] = field(default_factory=dict)  # access token -> expiry
    refresh: dict[str, float] = field(default_factory=dict)  # live refresh token -> expiry
    dead_refresh: set[str] = field(default_factory=set)
    revoked: list[str] = field(default_factory=list)
    publishes: dict[str, Publish] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)  # media URLs pulled
    followers: int = 1234


class FakeTikTok(FakeServer):
    """The fake with test controls: failure injection, moderation delays, creator settings, audit status."""

    def __init__(
        self,
        *,
        min_chunk: int = 5 * MiB,
        max_chunk: int = 64_000_000,
        max_last_chunk: int = 128_000_000,
        port: int = 0,
    ) -> None:
        super().__init__(port=port)
        self.state = FakeTikTokState()
        self.min_chunk, self.max_chunk, self.max_last_chunk = min_chunk, max_chunk, max_last_chunk
        self.audited = True
        self.status_reads = 0
        self.expire_at_status_read: int | None = None  # expire every access token at this status read
        self.lost_chunk_answers: set[int] = set()  # chunk numbers (from 1) stored, then answered too late
        self.creator: dict[str, Any] = {
            "creator_avatar_url": "https://p16.tiktokcdn.example/avatar.jpeg",
            "creator_username": USERNAME,
            "creator_nickname": "OCMA Bakery",
            "privacy_level_options": ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"],
            "comment_disabled": False,
            "duet_disabled": False,
            "stitch_disabled": True,
            "max_video_post_duration_sec": 600,
        }
        self.injected: collections.deque[list[Any]] = collections.deque()  # [kind, retry_after_s, skip]
        self.moderation: collections.deque[list[Any]] = collections.deque()  # [polls, fail_reason, skip]
        self._ids = itertools.count(7_300_000_000_000_000_000 + int(time.time()) % 10**6 * 10**6)
        install_auth_routes(self)
        install_post_routes(self)

    # ----- test controls -------------------------------------------------------------------------
    def authorize(self, authorize_url: str, *, approve: bool = True) -> tuple[str, str]:
        """Consent as the user: the code and state the redirect would carry."""
        split = urlsplit(authorize_url)
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        assert split.path == "/v2/auth/authorize/", authorize_url
        assert query["client_key"] == CLIENT_KEY and query["response_type"] == "code"
        assert "video.publish" in query["scope"].split(","), query["scope"]
        code = secrets.token_urlsafe(24) + "*0!"  # TikTok's codes carry characters that need URL-decoding
        if approve:
            self.state.codes[code] = {
                "redirect_uri": query["redirect_uri"],
                "challenge": query.get("code_challenge", ""),
            }
        return code, query.get("state", "")

    def fail_next(self, kind: str, *, retry_after_s: float = 30.0, skip: int = 0) -> None:
        """Fail a coming init call after `skip` succeed: rate_limit, auth, server_error, timeout_after_store,
        spam (spam_risk_too_many_posts)."""
        if kind not in ("rate_limit", "auth", "server_error", "timeout_after_store", "spam"):
            raise ValueError(kind)
        self.injected.append([kind, retry_after_s, skip])

    def moderate_next(self, *, polls: int = 3, fail_reason: str = "", skip: int = 0) -> None:
        """The next publish (after `skip`) is processed, then in moderation, for `polls` status reads — then
        published, or FAILED with `fail_reason`."""
        self.moderation.append([polls, fail_reason, skip])

    def take(self, queue: collections.deque[list[Any]]) -> list[Any] | None:
        """The queued behaviour due now, if any."""
        with self.lock:
            if not queue:
                return None
            if queue[0][-1] > 0:
                queue[0][-1] -= 1
                return None
            return queue.popleft()

    def expire_tokens(self) -> None:
        """Every access token is expired (refresh tokens stay valid)."""
        with self.lock:
            for token in self.state.access:
                self.state.access[token] = time.time() - 1

    def published_texts(self) -> list[str]:
        """Texts of the posts TikTok holds (fully received, not failed), oldest first."""
        with self.lock:
            return [
                p.text for p in self.state.publishes.values() if p.status not in ("FAILED", "AWAITING_UPLOAD")
            ]

    def parent_of(self, external_id: str) -> str | None:
        """TikTok posts have no threads."""
        return None

    def next_id(self) -> int:
        """A new int64 post id."""
        with self.lock:
            return next(self._ids)

    # ----- helpers for the routes ----------------------------------------------------------------
    def issue_tokens(self) -> dict[str, Any]:
        """A new token pair, as the token endpoint answers it."""
        access, refresh = "act." + secrets.token_urlsafe(24), "rft." + secrets.token_urlsafe(24)
        now = time.time()
        self.state.access[access] = now + ACCESS_TTL_S
        self.state.refresh[refresh] = now + REFRESH_TTL_S
        return {
            "open_id": OPEN_ID,
            "scope": "user.info.basic,user.info.stats,video.publish,video.upload,video.list",
            "access_token": access,
            "expires_in": ACCESS_TTL_S,
            "refresh_token": refresh,
            "refresh_expires_in": REFRESH_TTL_S,
            "token_type": "Bearer",
        }

    def authorized(self, request: FakeRequest) -> FakeResponse | None:
        """None when the bearer token is live; the 401 envelope otherwise."""
        token = request.bearer() or ""
        with self.lock:
            expiry = self.state.access.get(token)
        if expiry is None or expiry < time.time():
            return envelope_error(
                401, "access_token_invalid", "The access token is invalid or not found in the request."
            )
        return None


def ok(data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> FakeResponse:
    """A successful envelope."""
    body = {"data": data, "error": {"code": "ok", "message": "", "log_id": _log_id()}}
    return FakeResponse(status, body, headers or {})


def envelope_error(status: int, code: str, message: str, **extra: Any) -> FakeResponse:
    """An error envelope (`data` is empty)."""
    return FakeResponse(
        status, {"data": {}, "error": {"code": code, "message": message, "log_id": _log_id()}}, **extra
    )


def _log_id() -> str:
    return time.strftime("%Y%m%d%H%M%S") + secrets.token_hex(10).upper()


def _oauth_error(error: str, description: str) -> FakeResponse:
    return FakeResponse(400, {"error": error, "error_description": description, "log_id": _log_id()})


def install_auth_routes(fake: FakeTikTok) -> None:
    """The token, revoke and user-info endpoints."""

    @fake.route("POST", r"/v2/oauth/token/")
    def token(request: FakeRequest) -> FakeResponse:
        form = request.form()
        if form.get("client_key") != CLIENT_KEY or form.get("client_secret") != CLIENT_SECRET:
            return _oauth_error("invalid_client", "Client key or secret is incorrect.")
        with fake.lock:
            if form.get("grant_type") == "authorization_code":
                code = fake.state.codes.pop(form.get("code", ""), None)
                if code is None or code["redirect_uri"] != form.get("redirect_uri"):
                    return _oauth_error("invalid_grant", "Authorization code is expired or invalid.")
                if code["challenge"] and code["challenge"] != _s256(form.get("code_verifier", "")):
                    return _oauth_error("invalid_grant", "Code verifier is invalid.")
                return FakeResponse(200, fake.issue_tokens())
            if form.get("grant_type") == "refresh_token":
                old = form.get("refresh_token", "")
                expiry = fake.state.refresh.pop(old, None)
                if expiry is None or expiry < time.time():
                    return _oauth_error("invalid_grant", "Refresh token is invalid or expired.")
                fake.state.dead_refresh.add(old)
                return FakeResponse(200, fake.issue_tokens())
        return _oauth_error("invalid_request", "Unsupported grant_type.")

    @fake.route("POST", r"/v2/oauth/revoke/")
    def revoke(request: FakeRequest) -> FakeResponse:
        form = request.form()
        if form.get("client_key") != CLIENT_KEY or form.get("client_secret") != CLIENT_SECRET:
            return _oauth_error("invalid_client", "Client key or secret is incorrect.")
        with fake.lock:
            fake.state.access.pop(form.get("token", ""), None)
            fake.state.refresh.clear()  # one user: revoking ends the whole authorisation
            fake.state.revoked.append(form.get("token", ""))
        return FakeResponse(200, {})

    @fake.route("GET", r"/v2/user/info/")
    def user_info(request: FakeRequest) -> FakeResponse:
        denied = fake.authorized(request)
        if denied is not None:
            return denied
        with fake.lock:
            videos = sum(1 for p in fake.state.publishes.values() if p.post_id is not None)
            user = {
                "open_id": OPEN_ID,
                "union_id": "union-" + OPEN_ID,
                "avatar_url": "https://p16.tiktokcdn.example/avatar.jpeg",
                "display_name": "OCMA Bakery",
                "username": USERNAME,
                "follower_count": fake.state.followers,
                "following_count": 12,
                "likes_count": 4321,
                "video_count": videos,
            }
        fields = [f for f in request.query.get("fields", "").split(",") if f]
        if not fields:
            return envelope_error(400, "invalid_params", "fields is required.")
        return ok({"user": {k: user[k] for k in fields if k in user}})


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
