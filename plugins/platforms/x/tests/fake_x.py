"""FakeX: a loopback imitation of X API v2 for OCMA's X plugin tests (and the lead's end-to-end tests).

Every request body and query is validated against X's OpenAPI description and every JSON answer is
checked against the documented response schema (an off-spec answer becomes a 500 naming the mismatch).
Covered: OAuth 2.0 + PKCE (`/i/oauth2/authorize`, `POST /2/oauth2/token`, single-use rotating refresh
tokens), `GET /2/users/me`, `POST /2/tweets`, `DELETE /2/tweets/{id}`, `GET /2/tweets/{id}`,
`GET /2/users/{id}/tweets`, and the v2 media endpoints (see fake_x_media).

Test controls: `authorize`, `fail_next` (rate_limit, auth, server_error, timeout_after_store, usage_capped,
app_daily_limit), `expire_tokens`, `published_texts`, `seed_post`, `set_metrics`, `spelling`
("spec": repost_count/post_count as the 2026-08 description names them; "classic": retweet_count/tweet_count
as X's metrics page shows them).
"""

from __future__ import annotations

import base64
import calendar
import collections
import hashlib
import html
import secrets
import string
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fake_x_base import JSON, PROBLEMS, FakeXBase, Token, about_blank, invalid_request, iso, not_found
from fake_x_media import install_media_routes
from ocma_x.counting import parse_text
from ocma_x.urls import extract_urls

from ocma_core.testing import FakeRequest, FakeResponse

CLIENT_ID = "fake-x-client-id"
CLIENT_SECRET = "fake-x-client-secret"
CONSUMER_SECRET = "fake-x-consumer-secret"
USER_ID = "2244994945"
USERNAME = "ocma_fake"
ALL_SCOPES = frozenset({"tweet.read", "tweet.write", "users.read", "media.write", "offline.access"})
BAD_TOKEN = {"error": "invalid_request", "error_description": "Value passed for the token was invalid."}
FAILURES = ("rate_limit", "auth", "server_error", "timeout_after_store", "usage_capped", "app_daily_limit")


def tco_slug() -> str:
    """A t.co slug: 10 letters and digits."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(10))


class FakeX(FakeXBase):
    """The fake X API with test controls."""

    def __init__(self, *, confidential: bool = False, spelling: str = "spec") -> None:
        super().__init__()
        self.client_secret = CLIENT_SECRET if confidential else None
        self.spelling = spelling
        self.processing_polls = 2  # STATUS answers "in_progress" this many times before "succeeded"
        self.check_after_secs = 1
        self.fail_processing = False  # STATUS ends in "failed" instead of "succeeded"
        self._next: collections.deque[tuple[str, float, int]] = collections.deque()
        self.state.users[USER_ID] = {
            "id": USER_ID,
            "name": "OCMA Fake",
            "username": USERNAME,
            "followers_count": 1234,
            "following_count": 56,
            "listed_count": 7,
            "like_count": 89,
            "media_count": 3,
        }
        self._install()
        install_media_routes(self)

    # ----- test controls -----------------------------------------------------------------------
    def authorize(self, authorize_url: str, *, approve: bool = True) -> tuple[str, str]:
        """Consent as the user: check the authorize URL as X would; returns (code, state)."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        assert urlsplit(authorize_url).path == "/i/oauth2/authorize", authorize_url
        assert query.get("response_type") == "code"
        assert query.get("client_id") == CLIENT_ID
        assert query.get("code_challenge_method") == "S256" and query.get("code_challenge")
        assert 0 < len(query.get("state", "")) <= 500
        scopes = frozenset(query.get("scope", "").split(" "))
        assert scopes <= ALL_SCOPES | {"like.read", "follows.read"}, scopes
        if not approve:
            return "", query["state"]
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.state.codes[code] = {
                "challenge": query["code_challenge"],
                "redirect_uri": query["redirect_uri"],
                "scopes": scopes,
                "issued": time.time(),
            }
        return code, query["state"]

    def fail_next(self, kind: str, *, retry_after_s: float = 30.0, skip: int = 0) -> None:
        """Make a coming POST /2/tweets fail in one of X's ways (`skip` lets that many succeed first)."""
        if kind not in FAILURES:
            raise ValueError(kind)
        self._next.append((kind, retry_after_s, skip))

    def expire_tokens(self) -> None:
        """Invalidate every access token (refresh tokens stay valid)."""
        with self.lock:
            self.state.access.clear()

    def published_texts(self) -> list[str]:
        """Texts of the posts X holds now (as X renders them: t.co links, HTML entities)."""
        with self.lock:
            return [html.unescape(p["text"]) for p in self.state.posts.values()]

    def parent_of(self, post_id: str) -> str | None:
        """The id of the post this one replies to (None for a first part)."""
        with self.lock:
            return self.state.posts[post_id]["reply_to"]  # type: ignore[no-any-return]

    def seed_post(self, text: str, *, age_days: float = 0.0, author: str = USER_ID) -> str:
        """Store a post created `age_days` ago; returns its id."""
        created = time.time() - age_days * 86400
        post_id = self.new_id(created)
        with self.lock:
            self.state.posts[post_id] = self._new_post(post_id, author, text, created, {})
        return post_id

    def set_metrics(self, post_id: str, **blocks: dict[str, int]) -> None:
        """Set a post's public (classic names), non_public and organic metric values."""
        with self.lock:
            post = self.state.posts[post_id]
            for block, values in blocks.items():
                post[block].update(values)

    # ----- rendering ---------------------------------------------------------------------------
    def _new_post(
        self, post_id: str, author: str, text: str, created: float, body: dict[str, Any]
    ) -> dict[str, Any]:
        rendered, last = [], 0
        for url in extract_urls(text):
            rendered += [text[last : url.start], f"https://t.co/{tco_slug()}"]
            last = url.end
        rendered.append(text[last:])
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        parent = self.state.posts.get(reply_to or "")
        return {
            "id": post_id,
            "author": author,
            "source_text": text,
            "text": html.escape("".join(rendered), quote=False),
            "created": created,
            "conversation_id": parent["conversation_id"] if parent else post_id,
            "reply_to": reply_to,
            "media_ids": list((body.get("media") or {}).get("media_ids", [])),
            "poll": body.get("poll"),
            "reply_settings": body.get("reply_settings", "everyone"),
            "public_metrics": {
                "retweet_count": 0,
                "reply_count": 0,
                "like_count": 0,
                "quote_count": 0,
                "bookmark_count": 0,
                "impression_count": 0,
            },
            "non_public_metrics": {
                "impression_count": 0,
                "url_link_clicks": 0,
                "user_profile_clicks": 0,
                "engagements": 0,
            },
            "organic_metrics": {
                "impression_count": 0,
                "like_count": 0,
                "reply_count": 0,
                "retweet_count": 0,
                "url_link_clicks": 0,
                "user_profile_clicks": 0,
            },
        }

    def _spell(self, values: dict[str, int]) -> dict[str, int]:
        if self.spelling == "classic":
            return dict(values)
        renames = {"retweet_count": "repost_count", "tweet_count": "post_count"}
        return {renames.get(k, k): v for k, v in values.items()}

    def render_post(
        self, post: dict[str, Any], fields: list[str], viewer: str
    ) -> tuple[dict[str, Any], list[Any]]:
        """A Post object with the requested fields, and field-authorization errors."""
        history = "edit_history_tweet_ids" if self.spelling == "classic" else "edit_history_post_ids"
        data: dict[str, Any] = {"id": post["id"], "text": post["text"], history: [post["id"]]}
        errors: list[Any] = []
        young = time.time() - post["created"] < 30 * 86400
        for name in fields:
            if name == "created_at":
                data["created_at"] = iso(post["created"])
            elif name == "conversation_id":
                data["conversation_id"] = post["conversation_id"]
            elif name == "reply_settings":
                data["reply_settings"] = post["reply_settings"]
            elif name == "public_metrics":
                data["public_metrics"] = self._spell(post["public_metrics"])
            elif name in ("non_public_metrics", "organic_metrics"):
                if post["author"] == viewer and young:
                    data[name] = self._spell(post[name])
                else:
                    errors.append(
                        {
                            "type": f"{PROBLEMS}not-authorized-for-field",
                            "title": "Field Authorization Error",
                            "detail": f"Sorry, you are not authorized to access '{name}' on the Tweet with "
                            f"ids: [{post['id']}].",
                            "field": name,
                            "resource_type": "tweet",
                            "resource_id": post["id"],
                            "section": "data",
                        }
                    )
        return data, errors

    # ----- routes ------------------------------------------------------------------------------
    def _install(self) -> None:
        self.route("GET", "/i/oauth2/authorize")(self._authorize_page)
        self.route("POST", "/2/oauth2/token")(self._token)
        self.api("GET", "/2/users/me", self._me)
        self.api("GET", "/2/users/by/username/{username}", self._by_username)
        self.api("POST", "/2/tweets", self._create)
        self.api("DELETE", "/2/tweets/{id}", self._delete)
        self.api("GET", "/2/tweets/{id}", self._lookup)
        self.api("GET", "/2/users/{id}/tweets", self._timeline)

    def _authorize_page(self, request: FakeRequest) -> FakeResponse:
        url = f"{self.base_url}{request.path}?{urlencode(request.query)}"
        code, state = self.authorize(url)
        target = f"{request.query['redirect_uri']}?{urlencode({'state': state, 'code': code})}"
        return FakeResponse(302, b"", {"Location": target})

    def _client_ok(self, request: FakeRequest, form: dict[str, str]) -> bool:
        if self.client_secret:
            raw = base64.b64encode(f"{CLIENT_ID}:{self.client_secret}".encode()).decode()
            return request.header("authorization") == f"Basic {raw}"
        return form.get("client_id") == CLIENT_ID and not request.header("authorization")

    def _token(self, request: FakeRequest) -> FakeResponse:
        if not request.header("content-type").startswith("application/x-www-form-urlencoded"):
            return FakeResponse(400, BAD_TOKEN)
        form = request.form()
        if not self._client_ok(request, form):
            return FakeResponse(
                401,
                {"error": "unauthorized_client", "error_description": "Missing valid authorization header"},
            )
        grant = form.get("grant_type")
        if grant == "authorization_code":
            with self.lock:
                code = self.state.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            challenge = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            )
            if (
                code is None
                or time.time() - code["issued"] > 30
                or challenge != code["challenge"]
                or form.get("redirect_uri") != code["redirect_uri"]
            ):
                return FakeResponse(400, BAD_TOKEN)
            return FakeResponse(200, self.new_token_pair(USER_ID, code["scopes"]))
        if grant == "refresh_token":
            presented = form.get("refresh_token", "")
            with self.lock:
                token = self.state.refresh.pop(presented, None)  # single use: gone once presented
                self.state.used_refresh.add(presented)
            if token is None:
                return FakeResponse(400, BAD_TOKEN)
            return FakeResponse(200, self.new_token_pair(token.user_id, token.scopes))
        return FakeResponse(400, {"error": "unsupported_grant_type", "error_description": "grant_type"})

    def _me(self, request: FakeRequest, token: Token, parsed: dict[str, Any]) -> FakeResponse:
        data = self._user_json(token.user_id, parsed["query"].get("user.fields", []))
        return FakeResponse(200, {"data": data}, {"Content-Type": JSON})

    def _by_username(self, request: FakeRequest, token: Token, parsed: dict[str, Any]) -> FakeResponse:
        name = request.params["username"]
        found = next((u for u in self.state.users.values() if u["username"].lower() == name.lower()), None)
        if found is None:  # X answers 200 with only `errors` for an unknown username
            problem = {
                "value": name,
                "detail": f"Could not find user with username: [{name}].",
                "title": "Not Found Error",
                "resource_type": "user",
                "parameter": "username",
                "resource_id": name,
                "type": f"{PROBLEMS}resource-not-found",
            }
            return FakeResponse(200, {"errors": [problem]}, {"Content-Type": JSON})
        data = self._user_json(found["id"], parsed["query"].get("user.fields", []))
        return FakeResponse(200, {"data": data}, {"Content-Type": JSON})

    def _user_json(self, user_id: str, fields: list[str]) -> dict[str, Any]:
        user = self.state.users[user_id]
        data = {"id": user["id"], "name": user["name"], "username": user["username"]}
        if "public_metrics" in fields:
            with self.lock:
                posts = sum(1 for p in self.state.posts.values() if p["author"] == user_id)
            counts = {
                k: user[k]
                for k in ("followers_count", "following_count", "listed_count", "like_count", "media_count")
            }
            data["public_metrics"] = self._spell({**counts, "tweet_count": posts})
        if "verified_type" in fields:
            data["verified_type"] = "none"
        return data

    def _create(self, request: FakeRequest, token: Token, parsed: dict[str, Any]) -> FakeResponse:
        kind, retry = self._forced()
        if kind == "auth":
            return about_blank(401, "Unauthorized")
        if kind == "rate_limit":
            reset = str(int(time.time() + retry))
            return about_blank(
                429,
                "Too Many Requests",
                headers={
                    "x-rate-limit-limit": "100",
                    "x-rate-limit-remaining": "0",
                    "x-rate-limit-reset": reset,
                },
            )
        if kind == "app_daily_limit":
            reset = str(int(time.time() + retry))
            return about_blank(
                429,
                "Too Many Requests",
                headers={
                    "x-app-limit-24hour-limit": "10000",
                    "x-app-limit-24hour-remaining": "0",
                    "x-app-limit-24hour-reset": reset,
                },
            )
        if kind == "usage_capped":
            body = {
                "account_id": "1",
                "product_name": "standard-basic",
                "title": "UsageCapExceeded",
                "period": "Monthly",
                "scope": "Product",
                "detail": "Usage cap exceeded: Monthly product cap",
                "type": "https://api.twitter.com/2/problems/usage-capped",
            }
            return FakeResponse(429, body, {"Content-Type": JSON})
        if kind == "server_error":
            return about_blank(503, "Service Unavailable")
        problem = self._check_post(parsed["body"], token.user_id)
        if problem is not None:
            return problem
        post_id = self.new_id()
        with self.lock:
            self.state.posts[post_id] = post = self._new_post(
                post_id, token.user_id, parsed["body"].get("text", ""), time.time(), parsed["body"]
            )
        history = "edit_history_tweet_ids" if self.spelling == "classic" else "edit_history_post_ids"
        answer = {"data": {"id": post_id, "text": post["text"], history: [post_id]}}
        return FakeResponse(
            201, answer, {"Content-Type": JSON}, delay_s=4.0 if kind == "timeout_after_store" else 0
        )

    def _forced(self) -> tuple[str, float]:
        with self.lock:
            if not self._next:
                return "", 0.0
            kind, retry, skip = self._next[0]
            if skip > 0:
                self._next[0] = (kind, retry, skip - 1)
                return "", 0.0
            self._next.popleft()
            return kind, retry

    def _check_post(self, body: dict[str, Any], user: str) -> FakeResponse | None:
        """X's rules beyond the schema: length, exclusive attachments, replies, media, duplicates."""
        text = body.get("text", "")
        attached = [k for k in ("media", "poll", "quote_tweet_id", "card_uri") if k in body]
        if len(attached) > 1:
            return invalid_request(f"{' and '.join(attached)} are mutually exclusive.", attached[0])
        if not text and "media" not in body:
            return invalid_request("Post text can not be empty without media.", "text")
        if text and not parse_text(text).valid:
            return invalid_request("Post text is too long or contains invalid characters.", "text", text[:40])
        with self.lock:
            reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
            if reply_to and reply_to not in self.state.posts:
                return invalid_request(
                    "The post you are replying to does not exist or was deleted.",
                    "reply.in_reply_to_tweet_id",
                    reply_to,
                )
            for media_id in (body.get("media") or {}).get("media_ids", []):
                media = self.state.media.get(media_id)
                if media is None or media["owner"] != user or media["state"] != "succeeded":
                    return about_blank(400, "Bad Request", "Your media IDs are invalid.")
            duplicate = text and any(
                p["author"] == user and p["source_text"] == text for p in self.state.posts.values()
            )
        if duplicate:
            return about_blank(
                403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."
            )
        return None

    def _delete(self, request: FakeRequest, token: Token, parsed: dict[str, Any]) -> FakeResponse:
        post_id = request.params["id"]
        with self.lock:
            post = self.state.posts.get(post_id)
            if post is None:
                return not_found("tweet", post_id)
            if post["author"] != token.user_id:
                return about_blank(403, "Forbidden", "You are not allowed to delete this Tweet.")
            del self.state.posts[post_id]
        return FakeResponse(200, {"data": {"deleted": True}}, {"Content-Type": JSON})

    def _lookup(self, request: FakeRequest, token: Token, parsed: dict[str, Any]) -> FakeResponse:
        post_id = request.params["id"]
        with self.lock:
            post = self.state.posts.get(post_id)
        if post is None:
            return not_found("tweet", post_id)
        data, errors = self.render_post(post, parsed["query"].get("post.fields", []), token.user_id)
        body: dict[str, Any] = {"data": data}
        if errors:
            body["errors"] = errors
        return FakeResponse(200, body, {"Content-Type": JSON})

    def _timeline(self, request: FakeRequest, token: Token, parsed: dict[str, Any]) -> FakeResponse:
        query = parsed["query"]
        user = request.params["id"]
        if user not in self.state.users:
            return not_found("user", user)
        start = query.get("start_time")
        since = calendar.timegm(time.strptime(start[:19], "%Y-%m-%dT%H:%M:%S")) if start else 0
        with self.lock:
            posts = sorted(
                (p for p in self.state.posts.values() if p["author"] == user and p["created"] >= since),
                key=lambda p: int(p["id"]),
                reverse=True,
            )
        if "replies" in query.get("exclude", []):
            posts = [p for p in posts if not p["reply_to"]]
        offset = int(query.get("pagination_token", "0") or 0)
        size = int(query.get("max_results", 10))
        page = posts[offset : offset + size]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        if offset + size < len(posts):
            meta["next_token"] = str(offset + size)
        fields = query.get("post.fields", [])
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = [self.render_post(p, fields, token.user_id)[0] for p in page]
        return FakeResponse(200, body, {"Content-Type": JSON})
