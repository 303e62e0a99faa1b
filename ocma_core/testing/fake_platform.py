"""FakeSocial: a local imitation of a typical social API, with injectable latency and failures.

Used by the engine's tests and benchmarks (with the example platform plugin in tests/) and as a model
for plugin authors' own fakes. Run it alone with `python -m ocma_core.testing.fake_platform --port 9000`.

Wire format: OAuth 2.0 + PKCE (`/oauth/authorize`, `/oauth/token`, rotating refresh tokens), `GET /v1/me`,
`POST /v1/posts` (201 `{id, url}`, or `{id, status: "processing"}` while a post is processed, see
`process_next`), `GET /v1/posts/{id}` (`status` processing / published / failed with `error`), `GET /v1/posts?since=`, `DELETE /v1/posts/{id}` (204; 404 when it is not
there or not the caller's; deleting a post leaves its replies, as real platforms do),
`GET /v1/posts/{id}/metrics`, `GET /v1/me/metrics`, `GET /v1/users/{username}` (public counts),
`POST /v1/media`; test controls `POST /_fake/metrics`, `POST /_fake/config`, `GET /_fake/stats`. Rate limits per token in a fixed
window, reported in `x-ratelimit-limit|remaining|reset` (unix seconds); 429 carries `retry-after`.
"""

from __future__ import annotations

import argparse
import base64
import collections
import hashlib
import random
import secrets
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from ocma_core.testing.fake_state import Chaos, FakeSocialState, take_due
from ocma_core.testing.fakeserver import FakeRequest, FakeResponse, FakeServer

CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "fake-client-secret"


class FakeSocial(FakeServer):
    """The fake API server with knobs for tests: latency, failures, rate windows."""

    def __init__(
        self,
        *,
        latency_s: float = 0.0,
        rate_limit: int | None = None,
        rate_window_s: float = 900.0,
        port: int = 0,
    ) -> None:
        super().__init__(port=port)
        self.state = FakeSocialState()
        self.latency_s = latency_s
        self.rate_limit = rate_limit
        self.rate_window_s = rate_window_s
        self.reset_early_s = 0.0  # the reset header says this much earlier than the window really resets
        self.chaos = Chaos()
        self.limit_reads = False  # when True, the metrics endpoints count against the rate window too
        self._rng = random.Random(self.chaos.seed)
        self._next: collections.deque[list[Any]] = collections.deque()  # [kind, retry_after_s, skip]
        self._next_delete: collections.deque[tuple[str, float]] = collections.deque()
        self._next_processing: collections.deque[list[Any]] = collections.deque()  # [polls, fail, skip]
        self._ids = 10**15
        self._id_lock = threading.Lock()
        self._install_routes()

    # ----- test controls -------------------------------------------------------------------------
    def fail_next(self, kind: str, *, retry_after_s: float = 30.0, skip: int = 0) -> None:
        """Make a coming POST /v1/posts fail (`skip` lets that many succeed first): rate_limit, auth,
        server_error, timeout_after_store (stored, answered too late), duplicate."""
        if kind not in ("rate_limit", "auth", "server_error", "timeout_after_store", "duplicate"):
            raise ValueError(kind)
        self._next.append([kind, retry_after_s, skip])

    def fail_next_delete(self, kind: str, *, retry_after_s: float = 30.0) -> None:
        """Make the next DELETE /v1/posts/{id} fail: rate_limit, server_error or auth."""
        if kind not in ("rate_limit", "server_error", "auth"):
            raise ValueError(kind)
        self._next_delete.append((kind, retry_after_s))

    def process_next(self, *, polls: int = 2, fail: str | None = None, skip: int = 0) -> None:
        """The next created post (after `skip` others) is accepted as "processing" (like a video): GET
        /v1/posts/{id} says so `polls` times, then "published" — or "failed" with `fail` as the platform's
        reason (the post never appears)."""
        self._next_processing.append([polls, fail, skip])

    def parent_of(self, post_id: str) -> str | None:
        """The id of the post `post_id` replies to (None for a first part)."""
        with self.lock:
            return self.state.posts[post_id]["reply_to"]  # type: ignore[no-any-return]

    def protect(self, post_id: str, reason: str = "This post cannot be deleted.") -> None:
        """Make DELETE refuse this post with 403 and `reason` (as a platform refuses, e.g., a pinned post)."""
        with self.lock:
            self.state.undeletable[post_id] = reason

    def set_chaos(self, chaos: Chaos) -> None:
        """Random failures from now on."""
        self.chaos = chaos
        self._rng = random.Random(chaos.seed)

    def expire_tokens(self) -> None:
        """Invalidate every access token (refresh tokens stay valid)."""
        with self.lock:
            self.state.access.clear()

    def authorize(self, authorize_url: str, *, approve: bool = True, user: str = "1001") -> tuple[str, str]:
        """Act as user `user` on the consent screen: returns (code, state) as the redirect would carry."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        assert query.get("response_type") == "code", "authorize URL lacks response_type=code"
        assert query.get("client_id") == CLIENT_ID, "authorize URL has the wrong client_id"
        assert query.get("code_challenge_method") == "S256", "authorize URL must use PKCE S256"
        if not approve:
            return "", query["state"]
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.state.codes[code] = {
                "challenge": query["code_challenge"],
                "redirect_uri": query["redirect_uri"],
                "issued": str(time.time()),
                "user": user,
            }
        return code, query["state"]

    def set_metrics(self, post_id: str, **values: float) -> None:
        """Set (some of) a post's counters: likes, reposts, replies, impressions."""
        with self.lock:
            self.state.posts[post_id]["metrics"].update({k: v for k, v in values.items()})

    def set_followers(self, count: int) -> None:
        """The follower count `GET /v1/me/metrics` reports."""
        with self.lock:
            self.state.followers = count

    def add_public_account(self, username: str, **counts: int) -> None:
        """Another user whose public counts `GET /v1/users/{username}` serves (followers, following, posts)."""
        with self.lock:
            self.state.public_accounts[username] = {"id": self._new_id(), "username": username, **counts}

    def published_texts(self) -> list[str]:
        """Texts of the posts the fake currently holds."""
        with self.lock:
            return [p["text"] for p in self.state.posts.values()]

    def stats(self) -> dict[str, Any]:
        """Counts as the platform saw them: posts stored, duplicates by text, 429s answered."""
        with self.lock:
            texts = collections.Counter(p["text"] for p in self.state.posts.values())
            return {
                "posts": len(self.state.posts),
                "distinct_texts": len(texts),
                "duplicates": sum(n - 1 for n in texts.values() if n > 1),
                "duplicate_texts": sorted(t for t, n in texts.items() if n > 1),
                "duplicate_posts": sorted(
                    (p["text"], p["created_at"], p["author"])
                    for p in self.state.posts.values()
                    if texts[p["text"]] > 1
                ),
                "publish_calls": self.state.publish_calls,
                "http_429": self.state.http_429,
                "texts": sorted(texts),
            }

    # ----- helpers -------------------------------------------------------------------------------
    def _new_id(self) -> str:
        with self._id_lock:
            self._ids += 1
            return str(self._ids)

    def _issue(self, user_id: str) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        with self.lock:
            self.state.access[access] = user_id
            self.state.refresh[refresh] = user_id
        return {
            "token_type": "bearer",
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": 7200,
            "scope": "posts.read posts.write profile.read offline",
        }

    def _user(self, request: FakeRequest) -> str | None:
        token = request.bearer()
        with self.lock:
            return self.state.access.get(token or "")

    def _rate_headers(self, token: str) -> tuple[dict[str, str], bool]:
        """Apply the fixed-window limit for this token; returns headers and whether it is exceeded."""
        if self.rate_limit is None:
            return {}, False
        now = time.time()
        with self.lock:
            start, used = self.state.window.get(token, (now, 0))
            if now >= start + self.rate_window_s:
                start, used = now, 0
            exceeded = used >= self.rate_limit
            if not exceeded:
                used += 1
            self.state.window[token] = (start, used)
        reset = start + self.rate_window_s - self.reset_early_s
        headers = {
            "x-ratelimit-limit": str(self.rate_limit),
            "x-ratelimit-remaining": str(self.rate_limit - used),
            "x-ratelimit-reset": f"{reset:.3f}",
        }
        if exceeded:
            headers["retry-after"] = f"{max(reset - now, 0.05):.3f}"
        return headers, exceeded

    def _too_many(self, headers: dict[str, str], exceeded: bool, retry_s: float) -> FakeResponse:
        """A 429; a forced one (the window is not spent) says the budget is empty for `retry_s`."""
        if not exceeded:
            headers = {
                **headers,
                "retry-after": f"{retry_s:.3f}",
                "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": f"{time.time() + retry_s:.3f}",
                "x-ratelimit-limit": headers.get("x-ratelimit-limit", "100"),
            }
        with self.lock:
            self.state.http_429 += 1
        return FakeResponse(429, {"error": "rate_limited", "message": "Too many requests."}, headers)

    def _unauthorized(self) -> FakeResponse:
        return FakeResponse(
            401, {"error": "invalid_token", "message": "The access token is invalid or expired."}
        )

    # ----- routes --------------------------------------------------------------------------------
    def _install_routes(self) -> None:
        @self.route("POST", "/oauth/token")
        def token(request: FakeRequest) -> FakeResponse:
            form = request.form()
            client_ok = (
                form.get("client_id") == CLIENT_ID
                or request.header("authorization")
                == "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            )
            if not client_ok:
                return FakeResponse(401, {"error": "invalid_client"})
            if form.get("grant_type") == "authorization_code":
                with self.lock:
                    grant = self.state.codes.pop(form.get("code", ""), None)
                if grant is None or time.time() - float(grant["issued"]) > 30:
                    return FakeResponse(
                        400, {"error": "invalid_grant", "error_description": "Unknown or expired code."}
                    )
                verifier = form.get("code_verifier", "")
                challenge = (
                    base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                )
                if challenge != grant["challenge"]:
                    return FakeResponse(
                        400, {"error": "invalid_grant", "error_description": "PKCE verification failed."}
                    )
                if form.get("redirect_uri") != grant["redirect_uri"]:
                    return FakeResponse(
                        400, {"error": "invalid_grant", "error_description": "redirect_uri mismatch."}
                    )
                return FakeResponse(200, self._issue(grant.get("user", "1001")))
            if form.get("grant_type") == "refresh_token":
                with self.lock:
                    user = self.state.refresh.pop(form.get("refresh_token", ""), None)  # single use
                if user is None:
                    return FakeResponse(
                        400, {"error": "invalid_grant", "error_description": "Refresh token invalid."}
                    )
                return FakeResponse(200, self._issue(user))
            return FakeResponse(400, {"error": "unsupported_grant_type"})

        @self.route("GET", "/v1/me")
        def me(request: FakeRequest) -> FakeResponse:
            user = self._user(request)
            if user is None:
                return self._unauthorized()
            username = "fakeuser" if user == "1001" else f"fakeuser{user}"
            return FakeResponse(200, {"id": user, "username": username, "name": "Fake User"})

        @self.route("POST", "/v1/posts")
        def create_post(request: FakeRequest) -> FakeResponse:
            user = self._user(request)
            with self.lock:
                self.state.publish_calls += 1
                forced = take_due(self._next)
            if forced and forced[0] == "auth":
                return self._unauthorized()
            if forced and forced[0] == "duplicate":
                return FakeResponse(403, {"error": "duplicate", "message": "This status is a duplicate."})
            if user is None:
                return self._unauthorized()
            headers, exceeded = self._rate_headers(request.bearer() or "")
            roll = self._rng.random() if not forced else 1.0
            c = self.chaos
            if exceeded or (forced and forced[0] == "rate_limit") or roll < c.p_429:
                retry = forced[1] if forced and forced[0] == "rate_limit" else 1.0
                return self._too_many(headers, exceeded, retry)
            if (forced and forced[0] == "server_error") or roll < c.p_429 + c.p_5xx:
                return FakeResponse(
                    503,
                    {"error": "unavailable", "message": "Try again later."},
                    headers,
                    delay_s=self.latency_s,
                )
            body = request.json() or {}
            text = body.get("text")
            if not isinstance(text, str) or not (text or body.get("media_ids")) or len(text) > 500:
                return FakeResponse(
                    400, {"error": "invalid_request", "message": "text must be at most 500 characters."}
                )
            if body.get("reply_to") and body["reply_to"] not in self.state.posts:
                return FakeResponse(400, {"error": "invalid_request", "message": "reply_to does not exist."})
            post_id = self._new_id()
            post = {
                "id": post_id,
                "author": user,
                "text": text,
                "reply_to": body.get("reply_to"),
                "media_ids": body.get("media_ids", []),
                "created_at": time.time(),
                "metrics": {"likes": 0, "reposts": 0, "replies": 0, "impressions": 0},
            }
            with self.lock:
                self.state.posts[post_id] = post
                processing = take_due(self._next_processing)
                if processing is not None:
                    self.state.processing[post_id] = {"polls_left": processing[0], "fail": processing[1]}
            answer: dict[str, Any] = {"id": post_id, "url": f"https://fakesocial.test/p/{post_id}"}
            if processing is not None:
                answer = {"id": post_id, "status": "processing"}
            reply_lost = bool(post["reply_to"]) and c.p_reply_lost > 0 and self._rng.random() < c.p_reply_lost
            if (
                (forced and forced[0] == "timeout_after_store")
                or roll < c.p_429 + c.p_5xx + c.p_timeout_after_store
                or reply_lost
            ):
                return FakeResponse(201, answer, headers, delay_s=c.timeout_s if not forced else 5.0)
            return FakeResponse(201, answer, headers, delay_s=self.latency_s)

        @self.route("GET", "/v1/posts")
        def list_posts(request: FakeRequest) -> FakeResponse:
            user = self._user(request)
            if user is None:
                return self._unauthorized()
            since = float(request.query.get("since", "0"))
            with self.lock:
                found = [
                    p for p in self.state.posts.values() if p["author"] == user and p["created_at"] >= since
                ]
            return FakeResponse(
                200,
                {
                    "data": [
                        {k: p[k] for k in ("id", "text", "reply_to", "created_at")}
                        for p in sorted(found, key=lambda p: int(p["id"]))
                    ]
                },
            )

        @self.route("GET", r"/v1/posts/(?P<id>\d+)")
        def get_post(request: FakeRequest) -> FakeResponse:
            user = self._user(request)
            if user is None:
                return self._unauthorized()
            post_id = request.params["id"]
            with self.lock:
                post = self.state.posts.get(post_id)
                job = self.state.processing.get(post_id)
                if post is None or post["author"] != user:
                    return FakeResponse(404, {"error": "not_found", "message": "No such post."})
                if job is not None and job["polls_left"] > 0:
                    job["polls_left"] -= 1
                    return FakeResponse(200, {"id": post_id, "status": "processing"})
                if job is not None and job["fail"]:
                    del self.state.posts[post_id]  # processing failed: the post never appears
                    return FakeResponse(200, {"id": post_id, "status": "failed", "error": job["fail"]})
                self.state.processing.pop(post_id, None)
            url = f"https://fakesocial.test/p/{post_id}"
            return FakeResponse(200, {"id": post_id, "status": "published", "url": url})

        @self.route("DELETE", r"/v1/posts/(?P<id>\d+)")
        def delete_post(request: FakeRequest) -> FakeResponse:
            user = self._user(request)
            with self.lock:
                self.state.delete_calls += 1
                forced = self._next_delete.popleft() if self._next_delete else None
            if user is None or (forced and forced[0] == "auth"):
                return self._unauthorized()
            headers, exceeded = self._rate_headers(request.bearer() or "")
            if exceeded or (forced and forced[0] == "rate_limit"):
                return self._too_many(headers, exceeded, forced[1] if forced else 1.0)
            if forced and forced[0] == "server_error":
                return FakeResponse(503, {"error": "unavailable", "message": "Try again later."}, headers)
            with self.lock:
                post = self.state.posts.get(request.params["id"])
                if post is None or post["author"] != user:
                    return FakeResponse(404, {"error": "not_found", "message": "No such post."}, headers)
                refusal = self.state.undeletable.get(post["id"])
                if refusal:
                    return FakeResponse(403, {"error": "forbidden", "message": refusal}, headers)
                del self.state.posts[post["id"]]
            return FakeResponse(204, None, headers)

        def read_limit(request: FakeRequest) -> tuple[dict[str, str], FakeResponse | None]:
            with self.lock:
                self.state.metric_calls += 1
            if not self.limit_reads:
                return {}, None
            headers, exceeded = self._rate_headers(request.bearer() or "")
            if not exceeded:
                return headers, None
            with self.lock:
                self.state.http_429 += 1
            return headers, FakeResponse(
                429, {"error": "rate_limited", "message": "Too many requests."}, headers
            )

        @self.route("GET", r"/v1/posts/(?P<id>\d+)/metrics")
        def post_metrics(request: FakeRequest) -> FakeResponse:
            if self._user(request) is None:
                return self._unauthorized()
            headers, refused = read_limit(request)
            if refused is not None:
                return refused
            with self.lock:
                post = self.state.posts.get(request.params["id"])
            if post is None:
                return FakeResponse(404, {"error": "not_found", "message": "No such post."}, headers)
            return FakeResponse(200, dict(post["metrics"]), headers)

        @self.route("GET", "/v1/me/metrics")
        def account_metrics(request: FakeRequest) -> FakeResponse:
            user = self._user(request)
            if user is None:
                return self._unauthorized()
            headers, refused = read_limit(request)
            if refused is not None:
                return refused
            with self.lock:
                count = sum(1 for p in self.state.posts.values() if p["author"] == user)
                followers = self.state.followers
            return FakeResponse(200, {"followers": followers, "following": 7, "posts": count}, headers)

        @self.route("GET", r"/v1/users/(?P<username>[A-Za-z0-9_]+)")
        def public_account(request: FakeRequest) -> FakeResponse:
            if self._user(request) is None:
                return self._unauthorized()
            with self.lock:
                found = self.state.public_accounts.get(request.params["username"])
            if found is None:
                return FakeResponse(404, {"error": "not_found", "message": "No such user."})
            return FakeResponse(200, dict(found))

        @self.route("POST", "/_fake/metrics")
        def set_metrics(request: FakeRequest) -> FakeResponse:
            body = request.json() or {}
            if "post_id" in body:
                if body["post_id"] not in self.state.posts:
                    return FakeResponse(404, {"error": "not_found", "message": "No such post."})
                self.set_metrics(body["post_id"], **body.get("metrics", {}))
            if "followers" in body:
                self.set_followers(int(body["followers"]))
            return FakeResponse(200, {"ok": True})

        @self.route("POST", "/v1/media")
        def upload_media(request: FakeRequest) -> FakeResponse:
            if self._user(request) is None:
                return self._unauthorized()
            if not request.body:
                return FakeResponse(400, {"error": "invalid_request", "message": "empty upload"})
            return FakeResponse(201, {"id": "m" + self._new_id(), "size": len(request.body)})

        @self.route("GET", "/_fake/stats")
        def stats(request: FakeRequest) -> FakeResponse:
            return FakeResponse(200, self.stats())

        @self.route("POST", "/_fake/config")
        def configure(request: FakeRequest) -> FakeResponse:
            body = request.json() or {}
            if "latency_s" in body:
                self.latency_s = float(body["latency_s"])
            if "chaos" in body:
                self.set_chaos(Chaos(**body["chaos"]))
            if "limit_reads" in body:
                self.limit_reads = bool(body["limit_reads"])
            if "rate_limit" in body:
                self.rate_limit = body["rate_limit"]
                self.rate_window_s = float(body.get("rate_window_s", self.rate_window_s))
                self.reset_early_s = float(body.get("reset_early_s", self.reset_early_s))
            if "tokens" in body:  # pre-seed tokens for benchmarks: {"access": user}
                with self.lock:
                    self.state.access.update(body["tokens"])
            return FakeResponse(200, {"ok": True})

        @self.route("GET", "/oauth/authorize")
        def authorize_page(request: FakeRequest) -> FakeResponse:
            # A browser reaching the fake consents at once and is redirected back with a code.
            code, state = self.authorize(request.path + "?" + urlencode(request.query))
            target = request.query["redirect_uri"] + "?" + urlencode({"code": code, "state": state})
            return FakeResponse(302, b"", {"Location": target})


def main() -> None:
    """Run the fake on a port until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--rate-limit", type=int, default=None)
    parser.add_argument("--rate-window", type=float, default=900.0)
    args = parser.parse_args()
    server = FakeSocial(
        latency_s=args.latency, port=args.port, rate_limit=args.rate_limit, rate_window_s=args.rate_window
    )
    print(server.base_url, flush=True)
    try:
        server._server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
