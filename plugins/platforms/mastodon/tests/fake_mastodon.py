"""FakeMastodon: a loopback imitation of one Mastodon server's REST API and OAuth provider.

Wire format from the Mastodon documentation: POST /api/v1/apps, /oauth/authorize (+ PKCE S256),
/oauth/token (client_secret_post or Basic), scopes with read/write covering read:*/write:*, statuses with
Idempotency-Key (same key and account within 1 h returns the same status), /api/v2/media answering 200 or
202 with url null and /api/v1/media/:id answering 206 while processing, errors as {"error": "..."} (401
invalid token, 403 scope, 404 Record not found, 422 validation), X-RateLimit-* headers with an ISO 8601
reset. Form bodies keep one value per key (FakeRequest.form), so list parameters are read from JSON bodies.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import fake_mastodon_text as text
from fake_mastodon_api import install_api

from ocma_core.testing.fakeserver import FakeRequest, FakeResponse, FakeServer

USERNAME = "ocma"
KNOWN_SCOPES = {
    "read",
    "write",
    "follow",
    "push",
    "profile",
    "read:accounts",
    "read:statuses",
    "write:statuses",
    "write:media",
    "read:notifications",
    "write:favourites",
}


def iso(ts: float) -> str:
    """Mastodon's datetime format (UTC, milliseconds, Z)."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def error(status: int, message: str, headers: dict[str, str] | None = None) -> FakeResponse:
    """A Mastodon error body."""
    return FakeResponse(status, {"error": message}, headers or {})


class FakeMastodon(FakeServer):
    """One Mastodon server with failure injection for the conformance kit."""

    def __init__(self, *, max_characters: int = 500, rate_limit: int = 300) -> None:
        super().__init__()
        self.max_characters = max_characters
        self.rate_limit = rate_limit
        self.media_processing_polls = 0  # > 0: uploads answer 202 and need this many GETs before done
        self.apps: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, dict[str, Any]] = {}
        self.public_accounts: dict[str, dict[str, Any]] = {}  # acct -> Account entity (accounts/lookup)
        self.media: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[tuple[str, str], tuple[str, float]] = {}
        self.windows: dict[str, tuple[int, float]] = {}
        self.status_posts = 0
        self.hang_every, self.creates_seen, self.hanging = 0, 0, 0
        self.released = threading.Event()
        self._next: collections.deque[list[Any]] = collections.deque()  # [kind, retry_after_s, skip]
        self._id = int(time.time() * 1000) << 16
        self.account: dict[str, Any] = {
            "id": "109000000000000001",
            "username": USERNAME,
            "acct": USERNAME,
            "display_name": "OCMA Test",
            "locked": False,
            "bot": False,
            "created_at": iso(time.time() - 86400 * 30),
            "note": "",
            "url": f"{self.base_url}/@{USERNAME}",
            "followers_count": 42,
            "following_count": 7,
            "statuses_count": 0,
        }
        self._install_oauth()
        install_api(self)

    # ----- test controls -------------------------------------------------------------------------
    def fail_next(self, kind: str, *, retry_after_s: float = 30.0, skip: int = 0) -> None:
        """Fail a coming POST /api/v1/statuses (after `skip` succeed): rate_limit, auth, server_error or
        timeout_after_store (the status is stored, the answer comes after 5 s)."""
        if kind not in ("rate_limit", "auth", "server_error", "timeout_after_store"):
            raise ValueError(kind)
        self._next.append([kind, retry_after_s, skip])

    def hang_creates(self, every: int) -> None:
        """Make every `every`-th POST /api/v1/statuses hang (store nothing, answer nothing) until release()."""
        with self.lock:
            self.hang_every, self.creates_seen = every, 0
        self.released.clear()

    def release(self) -> None:
        """Let the hanging creates go on (each is then stored and answered)."""
        self.released.set()

    def should_hang(self) -> bool:
        """Whether this create is one of the hanging ones (counts the creates)."""
        with self.lock:
            self.creates_seen += 1
            return bool(self.hang_every) and self.creates_seen % self.hang_every == 0

    def pop_failure(self) -> tuple[str, float] | None:
        """The injected failure for this request, if one is due."""
        with self.lock:
            if self._next and self._next[0][2] > 0:
                self._next[0][2] -= 1
                return None
            return tuple(self._next.popleft()[:2]) if self._next else None  # type: ignore[return-value]

    def parent_of(self, status_id: str) -> str | None:
        """The id of the status this one replies to (None for a first part)."""
        with self.lock:
            return self.statuses[status_id]["in_reply_to_id"]  # type: ignore[no-any-return]

    def forget_idempotency_keys(self) -> None:
        """As if more than an hour had passed: Mastodon keeps an Idempotency-Key for 1 h only."""
        with self.lock:
            self.idempotency.clear()

    def expire_tokens(self) -> None:
        """Revoke every access token (Mastodon tokens only end by revocation)."""
        with self.lock:
            self.tokens.clear()

    def issue_token(self, scopes: str = "read write") -> str:
        """A token as Preferences -> Development -> New application shows it."""
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = {"client_id": "", "scopes": set(scopes.split())}
        return token

    def published_texts(self) -> list[str]:
        """Source texts of the statuses the server holds."""
        with self.lock:
            return [s["text"] for s in self.statuses.values()]

    def next_id(self) -> str:
        """A snowflake-like, increasing id."""
        with self.lock:
            self._id += 1
            return str(self._id)

    def authorize(self, authorize_url: str, *, approve: bool = True) -> tuple[str, str]:
        """Consent as the user; validates the request like /oauth/authorize and returns (code, state)."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        app = self.apps.get(query.get("client_id", ""))
        if app is None:
            raise AssertionError("invalid_client: unknown client_id")
        if query.get("response_type") != "code":
            raise AssertionError("unsupported_response_type")
        if query.get("redirect_uri") not in app["redirect_uris"]:
            raise AssertionError("invalid_redirect_uri: not registered for this app")
        scopes = set(query.get("scope", "read").replace("+", " ").split())
        if not scopes <= app["scopes"]:
            raise AssertionError(f"invalid_scope: {scopes - app['scopes']}")
        if "code_challenge" in query and query.get("code_challenge_method") != "S256":
            raise AssertionError("invalid_request: code_challenge_method must be S256")
        if not approve:
            return "", query.get("state", "")
        code = secrets.token_urlsafe(32)
        with self.lock:
            self.codes[code] = {
                "client_id": query["client_id"],
                "redirect_uri": query["redirect_uri"],
                "scopes": scopes,
                "challenge": query.get("code_challenge"),
                "issued": time.time(),
            }
        return code, query.get("state", "")

    def webhook_delivery(self, event: str, status_id: str, secret: str) -> tuple[dict[str, str], bytes]:
        """Headers and body of an admin webhook delivery for a stored status."""
        import hmac
        import json

        body = json.dumps(
            {
                "event": event,
                "created_at": iso(time.time()),
                "object": self.status_json(self.statuses[status_id]),
            }
        ).encode()
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return {"Content-Type": "application/json", "X-Hub-Signature": f"sha256={digest}"}, body

    # ----- shared helpers for the API module -----------------------------------------------------
    def caller(self, request: FakeRequest, scope: str) -> dict[str, Any] | FakeResponse:
        """The token's grant, or the 401/403 Mastodon answers."""
        with self.lock:
            grant = self.tokens.get(request.bearer() or "")
        if grant is None:
            return error(401, "The access token is invalid")
        granted = grant["scopes"]
        profile_ok = (
            scope == "read:accounts" and "profile" in granted
        )  # 4.3+: profile covers verify_credentials
        if scope not in granted and scope.split(":")[0] not in granted and not profile_ok:
            return error(403, "This action is outside the authorized scopes")
        return grant

    def rate_headers(self, token: str) -> tuple[dict[str, str], bool]:
        """Count a call in the 5-minute window; headers and whether it is over the limit."""
        now = time.time()
        with self.lock:
            used, start = self.windows.get(token, (0, now - now % 300))
            if now - start >= 300:
                used, start = 0, now - now % 300
            over = used >= self.rate_limit
            used = used if over else used + 1
            self.windows[token] = (used, start)
        reset = (
            datetime.fromtimestamp(start + 300, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        )
        return {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(self.rate_limit - used),
            "X-RateLimit-Reset": reset,
        }, over

    def status_json(self, status: dict[str, Any]) -> dict[str, Any]:
        """The Status entity."""
        return {k: v for k, v in status.items() if k not in ("text", "idempotency")}

    def instance_json(self) -> dict[str, Any]:
        """GET /api/v2/instance."""
        host = self.base_url.split("://")[1]
        return {
            "domain": host,
            "title": "Fake Mastodon",
            "version": "4.5.0",
            "source_url": "https://github.com/mastodon/mastodon",
            "configuration": {
                "statuses": {
                    "max_characters": self.max_characters,
                    "max_media_attachments": 4,
                    "characters_reserved_per_url": 23,
                },
                "media_attachments": {
                    "description_limit": 1500,
                    "image_size_limit": 16777216,
                    "video_size_limit": 103809024,
                    "supported_mime_types": [
                        "image/jpeg",
                        "image/png",
                        "image/gif",
                        "image/webp",
                        "video/mp4",
                    ],
                },
                "polls": {
                    "max_options": 4,
                    "max_characters_per_option": 50,
                    "min_expiration": 300,
                    "max_expiration": 2629746,
                },
            },
            "api_versions": {"mastodon": 7},
        }

    def render(self, source: str) -> str:
        """Status HTML of a source text."""
        return text.render(source, self.base_url)

    # ----- OAuth ---------------------------------------------------------------------------------
    def _install_oauth(self) -> None:
        @self.route("POST", "/api/v1/apps")
        def create_app(request: FakeRequest) -> FakeResponse:
            body = request.json() if "json" in request.header("content-type") else request.form()
            body = body or {}
            if not isinstance(body.get("client_name"), str) or not body["client_name"]:
                return error(422, "Validation failed: Application name can't be blank")
            uris = body.get("redirect_uris")
            uris = uris.split() if isinstance(uris, str) else uris
            if (
                not isinstance(uris, list)
                or not uris
                or not all(
                    isinstance(u, str) and (u == "urn:ietf:wg:oauth:2.0:oob" or "://" in u) for u in uris
                )
            ):
                return error(422, "Validation failed: Redirect URI must be an absolute URI.")
            scopes = set(str(body.get("scopes") or "read").split())
            if not scopes <= KNOWN_SCOPES:
                return error(422, "Validation failed: Scopes are invalid")
            client_id, secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            with self.lock:
                self.apps[client_id] = {
                    "secret": secret,
                    "redirect_uris": uris,
                    "scopes": scopes,
                    "name": body["client_name"],
                    "website": body.get("website"),
                }
            return FakeResponse(
                200,
                {
                    "id": self.next_id(),
                    "name": body["client_name"],
                    "website": body.get("website"),
                    "scopes": sorted(scopes),
                    "redirect_uri": "\n".join(uris),
                    "redirect_uris": uris,
                    "client_id": client_id,
                    "client_secret": secret,
                    "client_secret_expires_at": 0,
                },
            )

        @self.route("GET", "/oauth/authorize")
        def authorize_page(request: FakeRequest) -> FakeResponse:
            code, state = self.authorize(request.path + "?" + urlencode(request.query))
            target = request.query["redirect_uri"] + "?" + urlencode({"code": code, "state": state})
            return FakeResponse(302, b"", {"Location": target})

        @self.route("POST", "/oauth/token")
        def token(request: FakeRequest) -> FakeResponse:
            form = request.json() if "json" in request.header("content-type") else request.form()
            form = form or {}
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
            basic = request.header("authorization")
            if basic.lower().startswith("basic "):
                client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            app = self.apps.get(client_id)
            if app is None or app["secret"] != secret:
                return FakeResponse(
                    401,
                    {
                        "error": "invalid_client",
                        "error_description": "Client authentication "
                        "failed due to unknown client, no client authentication included, or "
                        "unsupported authentication method.",
                    },
                )
            if form.get("grant_type") != "authorization_code":
                return FakeResponse(400, {"error": "unsupported_grant_type"})
            with self.lock:
                grant = self.codes.pop(form.get("code", ""), None)
            invalid = {
                "error": "invalid_grant",
                "error_description": "The provided authorization grant is invalid, "
                "expired, revoked, does not match the redirection URI used in the authorization request, "
                "or was issued to another client.",
            }
            if grant is None or grant["client_id"] != client_id or time.time() - grant["issued"] > 600:
                return FakeResponse(400, invalid)
            if form.get("redirect_uri") != grant["redirect_uri"]:
                return FakeResponse(400, invalid)
            if grant["challenge"]:
                verifier = form.get("code_verifier", "")
                digest = (
                    base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                )
                if digest != grant["challenge"]:
                    return FakeResponse(400, invalid)
            access = secrets.token_urlsafe(32)
            with self.lock:
                self.tokens[access] = {"client_id": client_id, "scopes": grant["scopes"]}
            return FakeResponse(
                200,
                {
                    "access_token": access,
                    "token_type": "Bearer",
                    "scope": " ".join(sorted(grant["scopes"])),
                    "created_at": int(time.time()),
                },
            )

        @self.route("POST", "/oauth/revoke")
        def revoke(request: FakeRequest) -> FakeResponse:
            form = request.form()
            with self.lock:
                self.tokens.pop(form.get("token", ""), None)
            return FakeResponse(200, {})

    def idempotent_status(self, account_id: str, key: str) -> dict[str, Any] | None:
        """The status already created with this Idempotency-Key within the last hour."""
        with self.lock:
            found = self.idempotency.get((account_id, key))
        if found is None or time.time() - found[1] > timedelta(hours=1).total_seconds():
            return None
        return self.statuses.get(found[0])
