"""FakeBluesky: a loopback imitation of a Bluesky entryway and the account's PDS (AT Protocol XRPC).

The entryway (this server, `base_url`) answers com.atproto.server.createSession / refreshSession and
serves a small web page for link-card tests. The account's PDS is a second server (`pds.base_url`),
named in the DID document the session returns; repo, identity and app.bsky calls go there.

Wire format as in the lexicons and the PDS source: JWT sessions (access `com.atproto.appPass` scope,
2 h; refresh 90 days, single use: a refreshed-away token answers 400 ExpiredToken "Token has been
revoked"), expired access tokens answer 400 ExpiredToken, errors are {"error", "message"}, writes
cost rate-limit points (create 3, delete 1; 5,000 per hour) reported in ratelimit-* headers.
Limitation: app.bsky.feed.getPosts reads only the first `uris` value (FakeRequest keeps one value).
"""

from __future__ import annotations

import base64
import collections
import hashlib
import json
import secrets
import threading
import time
from typing import Any

from fake_bluesky_records import RecordError, check_post

from ocma_core.testing.fakeserver import FakeRequest, FakeResponse, FakeServer

APP_PASSWORD = "abcd-efgh-ijkl-mnop"
ACCOUNT_PASSWORD = "the-real-account-password"
HANDLE = "ocma-test.bsky.social"
WRITE_POINTS, WRITE_WINDOW_S = 5000, 3600
_S32 = "234567abcdefghijklmnopqrstuvwxyz"
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def did_for(handle: str) -> str:
    """A did:plc-shaped identifier derived from the handle."""
    digest = base64.b32encode(hashlib.sha256(handle.encode()).digest()).decode().lower()
    return f"did:plc:{digest[:24]}"


def xrpc_error(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> FakeResponse:
    """An XRPC error response."""
    return FakeResponse(status, {"error": error, "message": message}, headers or {})


class FakeBluesky(FakeServer):
    """Entryway + PDS fake with failure injection for the conformance kit."""

    def __init__(self) -> None:
        super().__init__()
        self.pds = FakeServer()
        self.accounts: dict[str, dict[str, Any]] = {}
        self.access: dict[str, tuple[str, float]] = {}  # token -> (did, exp)
        self.refresh: dict[str, str] = {}  # live refresh token -> did
        self.revoked: set[str] = set()
        self.records: dict[str, dict[str, dict[str, Any]]] = collections.defaultdict(
            dict
        )  # did -> rkey -> rec
        self.blobs: dict[str, dict[str, dict[str, Any]]] = collections.defaultdict(dict)
        self.counts: dict[str, dict[str, int]] = {}
        self.points: dict[str, tuple[int, float]] = {}  # did -> (points used, window start)
        self._next: collections.deque[list[Any]] = collections.deque()  # [kind, retry_after_s, skip]
        self.profiles: dict[str, dict[str, Any]] = {}  # did -> app.bsky.actor.profile record ("self")
        self.appview_unknown: set[str] = set()  # DIDs the AppView has not indexed (getProfile: not found)
        self.session_error: int | None = None  # an HTTP status createSession answers with (e.g. 500)
        self._last_tid = 0
        self._tid_lock = threading.Lock()
        self.add_account(HANDLE, display_name="OCMA Test", followers=12, follows=3)
        self.add_account("alice.bsky.social", display_name="Alice")
        self._install_entryway()
        self._install_pds()

    # ----- lifecycle and test controls -----------------------------------------------------------
    def start(self) -> FakeBluesky:
        """Start the entryway and the PDS."""
        self.pds.start()
        super().start()
        return self

    def stop(self) -> None:
        """Stop both servers."""
        super().stop()
        self.pds.stop()

    def add_account(
        self, handle: str, *, display_name: str = "", followers: int = 0, follows: int = 0
    ) -> str:
        """Create an account (resolvable handle, a profile record when it has a display name); its DID."""
        did = did_for(handle)
        if display_name:
            self.profiles[did] = {"$type": "app.bsky.actor.profile", "displayName": display_name}
        self.accounts[did] = {
            "did": did,
            "handle": handle,
            "displayName": display_name,
            "followersCount": followers,
            "followsCount": follows,
        }
        return did

    def fail_next(self, kind: str, *, retry_after_s: float = 30.0, skip: int = 0) -> None:
        """Fail a coming createRecord (after `skip` succeed): rate_limit, auth, server_error or
        timeout_after_store (the record is stored, the answer comes after 5 s)."""
        if kind not in ("rate_limit", "auth", "server_error", "timeout_after_store"):
            raise ValueError(kind)
        self._next.append([kind, retry_after_s, skip])

    def parent_of(self, uri: str) -> str | None:
        """The uri of the post a stored post replies to (None for a root post)."""
        record = next(r for r in self.stored() if r["uri"] == uri)
        return ((record["value"].get("reply") or {}).get("parent") or {}).get("uri")

    def expire_tokens(self) -> None:
        """Every access JWT expires now (refresh JWTs stay valid)."""
        with self.lock:
            self.access = {token: (did, time.time() - 1) for token, (did, _) in self.access.items()}

    def published_texts(self) -> list[str]:
        """Texts of all stored posts."""
        with self.lock:
            return [r["value"]["text"] for repo in self.records.values() for r in repo.values()]

    def stored(self) -> list[dict[str, Any]]:
        """All stored records (uri, cid, value), oldest first."""
        with self.lock:
            return sorted(
                (r for repo in self.records.values() for r in repo.values()), key=lambda r: r["rkey"]
            )

    def set_counts(self, uri: str, **counts: int) -> None:
        """Set engagement counts (likeCount, repostCount, replyCount, quoteCount) of a post."""
        self.counts[uri] = counts

    # ----- helpers -------------------------------------------------------------------------------
    def _did_doc(self, did: str) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/did/v1"],
            "id": did,
            "alsoKnownAs": [f"at://{self.accounts[did]['handle']}"],
            "service": [
                {
                    "id": "#atproto_pds",
                    "type": "AtprotoPersonalDataServer",
                    "serviceEndpoint": self.pds.base_url,
                }
            ],
        }

    def _jwt(self, claims: dict[str, Any]) -> str:
        header = _b64(json.dumps({"typ": claims.pop("typ"), "alg": "ES256K"}).encode())
        return f"{header}.{_b64(json.dumps(claims).encode())}.{_b64(secrets.token_bytes(32))}"

    def _session(self, did: str, scope: str) -> dict[str, Any]:
        now = time.time()
        aud = f"did:web:{self.pds.base_url.split('//')[1].split(':')[0]}"
        access = self._jwt(
            {"typ": "at+jwt", "scope": scope, "sub": did, "aud": aud, "iat": int(now), "exp": int(now) + 7200}
        )
        refresh = self._jwt(
            {
                "typ": "refresh+jwt",
                "scope": "com.atproto.refresh",
                "sub": did,
                "aud": aud,
                "jti": secrets.token_urlsafe(16),
                "iat": int(now),
                "exp": int(now) + 90 * 86400,
            }
        )
        with self.lock:
            self.access[access] = (did, now + 7200)
            self.refresh[refresh] = did
        account = self.accounts[did]
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "handle": account["handle"],
            "did": did,
            "didDoc": self._did_doc(did),
            "email": f"{account['handle']}@example.com",
            "emailConfirmed": True,
            "active": True,
        }

    def _user(self, request: FakeRequest) -> str | FakeResponse:
        token = request.bearer()
        if not token:
            return FakeResponse(
                401,
                {"error": "AuthMissing", "message": "Authentication Required"},
                {"WWW-Authenticate": 'Bearer realm="pds"'},
            )
        with self.lock:
            entry = self.access.get(token)
        if entry is None:
            return xrpc_error(400, "InvalidToken", "Token could not be verified")
        if entry[1] < time.time():
            return xrpc_error(400, "ExpiredToken", "Token has expired")
        return entry[0]

    def _tid(self) -> str:
        with self._tid_lock:
            now = max(int(time.time() * 1_000_000), self._last_tid + 1)
            self._last_tid = now
        value, out = (now << 10) | 7, ""
        for _ in range(13):
            out = _S32[value & 31] + out
            value >>= 5
        return out

    @staticmethod
    def _cid(data: bytes) -> str:
        return "bafyrei" + base64.b32encode(hashlib.sha256(data).digest()).decode().lower().rstrip("=")[:52]

    def _spend(self, did: str, points: int) -> tuple[dict[str, str], bool]:
        now = time.time()
        with self.lock:
            used, start = self.points.get(did, (0, now))
            if now - start >= WRITE_WINDOW_S:
                used, start = 0, now
            over = used + points > WRITE_POINTS
            if not over:
                used += points
            self.points[did] = (used, start)
        headers = {
            "ratelimit-limit": str(WRITE_POINTS),
            "ratelimit-remaining": str(max(WRITE_POINTS - used, 0)),
            "ratelimit-reset": str(int(start + WRITE_WINDOW_S)),
            "ratelimit-policy": f"{WRITE_POINTS};w={WRITE_WINDOW_S}",
        }
        return headers, over

    def _handle_did(self, handle: str) -> str | None:
        return next((d for d, a in self.accounts.items() if a["handle"] == handle.lower()), None)

    def _record_cid(self, uri: str) -> str | None:
        parts = uri.removeprefix("at://").split("/")
        with self.lock:
            record = self.records.get(parts[0], {}).get(parts[-1]) if len(parts) == 3 else None
        return record["cid"] if record else None

    def _post_view(self, record: dict[str, Any]) -> dict[str, Any]:
        did = record["uri"].split("/")[2]
        counts = {"likeCount": 0, "repostCount": 0, "replyCount": 0, "quoteCount": 0, "bookmarkCount": 0}
        counts.update(self.counts.get(record["uri"], {}))
        author = {k: self.accounts[did][k] for k in ("did", "handle", "displayName")}
        return {
            "uri": record["uri"],
            "cid": record["cid"],
            "author": author,
            "record": record["value"],
            "indexedAt": record["indexedAt"],
            **counts,
        }

    # ----- entryway ------------------------------------------------------------------------------
    def _install_entryway(self) -> None:
        @self.route("POST", "/xrpc/com.atproto.server.createSession")
        def create_session(request: FakeRequest) -> FakeResponse:
            if self.session_error is not None:
                return xrpc_error(self.session_error, "InternalServerError", "Internal Server Error")
            body = request.json() or {}
            for key in ("identifier", "password"):
                if not isinstance(body.get(key), str):
                    return xrpc_error(400, "InvalidRequest", f'Input must have the property "{key}"')
            ident = body["identifier"].lower()
            did = ident if ident in self.accounts else self._handle_did(ident)
            if did is None or did_for(HANDLE) != did:
                return xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
            if body["password"] == APP_PASSWORD:
                return FakeResponse(200, self._session(did, "com.atproto.appPass"))
            if body["password"] == ACCOUNT_PASSWORD:
                return FakeResponse(200, self._session(did, "com.atproto.access"))
            return xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")

        @self.route("POST", "/xrpc/com.atproto.server.refreshSession")
        def refresh_session(request: FakeRequest) -> FakeResponse:
            token = request.bearer() or ""
            with self.lock:
                did = self.refresh.pop(token, None)  # single use: rotated away now
                if did is not None:
                    self.revoked.add(token)
            if did is None:
                if token in self.revoked:
                    return xrpc_error(400, "ExpiredToken", "Token has been revoked")
                return xrpc_error(400, "InvalidToken", "Token could not be verified")
            return FakeResponse(200, self._session(did, "com.atproto.appPass"))

        @self.route("GET", "/web/article")
        def article(request: FakeRequest) -> FakeResponse:
            html = (
                "<html><head><title>Fallback title</title>"
                '<meta property="og:title" content="OCMA ships Bluesky">'
                '<meta property="og:description" content="Facets, cards &amp; threads.">'
                '<meta property="og:image" content="/web/card.png"></head><body>hi</body></html>'
            )
            return FakeResponse(200, html, {"Content-Type": "text/html; charset=utf-8"})

        @self.route("GET", "/web/card.png")
        def card_image(request: FakeRequest) -> FakeResponse:
            return FakeResponse(200, PNG_1X1, {"Content-Type": "image/png"})

    # ----- PDS -----------------------------------------------------------------------------------
    def _install_pds(self) -> None:
        pds = self.pds

        @pds.route("POST", "/xrpc/com.atproto.repo.createRecord")
        def create_record(request: FakeRequest) -> FakeResponse:
            with self.lock:
                forced = None
                if self._next and self._next[0][2] > 0:
                    self._next[0][2] -= 1
                elif self._next:
                    forced = self._next.popleft()
            if forced and forced[0] == "auth":
                return FakeResponse(401, {"error": "InvalidToken", "message": "Bad token"})
            user = self._user(request)
            if isinstance(user, FakeResponse):
                return user
            if forced and forced[0] == "rate_limit":
                headers = {
                    "ratelimit-limit": str(WRITE_POINTS),
                    "ratelimit-remaining": "0",
                    "ratelimit-reset": str(int(time.time() + forced[1])),
                    "ratelimit-policy": f"{WRITE_POINTS};w={WRITE_WINDOW_S}",
                }
                return xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)
            if forced and forced[0] == "server_error":
                return xrpc_error(500, "InternalServerError", "Internal Server Error")
            body = request.json() or {}
            if body.get("repo") not in (user, self.accounts[user]["handle"]):
                return xrpc_error(400, "InvalidRequest", "Input/repo must be the authenticated account")
            if body.get("collection") != "app.bsky.feed.post":
                return xrpc_error(400, "InvalidRequest", "This fake stores app.bsky.feed.post records only")
            try:
                check_post(
                    body.get("record"),
                    blob_of=lambda cid: self.blobs[user].get(cid),
                    record_cid=self._record_cid,
                    handle_did=self._handle_did,
                )
            except RecordError as exc:
                return xrpc_error(400, "InvalidRequest", str(exc))
            headers, over = self._spend(user, 3)
            if over:
                return xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)
            rkey = self._tid()
            uri = f"at://{user}/app.bsky.feed.post/{rkey}"
            cid = self._cid(json.dumps(body["record"], sort_keys=True).encode())
            stored = {
                "uri": uri,
                "cid": cid,
                "rkey": rkey,
                "value": body["record"],
                "indexedAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            }
            with self.lock:
                self.records[user][rkey] = stored
            answer = {
                "uri": uri,
                "cid": cid,
                "commit": {"cid": self._cid(cid.encode()), "rev": self._tid()},
                "validationStatus": "valid",
            }
            delay = 5.0 if forced and forced[0] == "timeout_after_store" else 0.0
            return FakeResponse(200, answer, headers, delay_s=delay)

        @pds.route("POST", "/xrpc/com.atproto.repo.deleteRecord")
        def delete_record(request: FakeRequest) -> FakeResponse:
            user = self._user(request)
            if isinstance(user, FakeResponse):
                return user
            body = request.json() or {}
            if body.get("repo") != user or not body.get("rkey") or not body.get("collection"):
                return xrpc_error(400, "InvalidRequest", "repo (own DID), collection and rkey are required")
            headers, _ = self._spend(user, 1)
            with self.lock:
                self.records[user].pop(str(body["rkey"]), None)
            return FakeResponse(200, {"commit": {"cid": self._cid(b"x"), "rev": self._tid()}}, headers)

        @pds.route("POST", "/xrpc/com.atproto.repo.uploadBlob")
        def upload_blob(request: FakeRequest) -> FakeResponse:
            user = self._user(request)
            if isinstance(user, FakeResponse):
                return user
            mime = request.header("content-type")
            if not mime or not request.body:
                return xrpc_error(400, "InvalidRequest", "A Content-Type header and a body are required")
            if len(request.body) > 50_000_000:
                return xrpc_error(400, "BlobTooLarge", "This file is too large")
            cid = self._cid(request.body)
            self.blobs[user][cid] = {"mimeType": mime, "size": len(request.body)}
            return {
                "blob": {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": len(request.body)}
            }

        @pds.route("GET", "/xrpc/com.atproto.repo.listRecords")
        def list_records(request: FakeRequest) -> FakeResponse:
            user = self._user(request)
            if isinstance(user, FakeResponse):
                return user
            repo = request.query.get("repo", "")
            did = repo if repo in self.accounts else self._handle_did(repo)
            if did is None:
                return xrpc_error(400, "InvalidRequest", f"Could not find repo: {repo}")
            limit = min(max(int(request.query.get("limit", "50")), 1), 100)
            cursor = request.query.get("cursor")
            with self.lock:
                rows = sorted(self.records[did].values(), key=lambda r: r["rkey"], reverse=True)
            rows = [r for r in rows if cursor is None or r["rkey"] < cursor][:limit]
            answer: dict[str, Any] = {"records": [{k: r[k] for k in ("uri", "cid", "value")} for r in rows]}
            if rows:
                answer["cursor"] = rows[-1]["rkey"]
            return FakeResponse(200, answer)

        @pds.route("GET", "/xrpc/com.atproto.identity.resolveHandle")
        def resolve_handle(request: FakeRequest) -> FakeResponse:
            did = self._handle_did(request.query.get("handle", ""))
            if did is None:
                return xrpc_error(400, "HandleNotFound", "Unable to resolve handle")
            return FakeResponse(200, {"did": did})

        @pds.route("GET", "/xrpc/com.atproto.server.getSession")
        def get_session(request: FakeRequest) -> FakeResponse:
            user = self._user(request)
            if isinstance(user, FakeResponse):
                return user
            session = self._session(user, "com.atproto.appPass")
            return FakeResponse(200, {k: v for k, v in session.items() if not k.endswith("Jwt")})

        @pds.route("GET", "/xrpc/com.atproto.repo.getRecord")
        def get_record(request: FakeRequest) -> FakeResponse:
            repo, collection, rkey = (request.query.get(k, "") for k in ("repo", "collection", "rkey"))
            did = repo if repo in self.accounts else self._handle_did(repo)
            if did is None:
                return xrpc_error(400, "InvalidRequest", f"Could not find repo: {repo}")
            if collection == "app.bsky.actor.profile" and rkey == "self" and did in self.profiles:
                value = self.profiles[did]
                uri = f"at://{did}/{collection}/self"
                return FakeResponse(200, {"uri": uri, "cid": self._cid(repr(value).encode()), "value": value})
            with self.lock:
                record = self.records[did].get(rkey) if collection == "app.bsky.feed.post" else None
            if record is None:
                return xrpc_error(
                    400, "RecordNotFound", f"Could not locate record: at://{did}/{collection}/{rkey}"
                )
            return FakeResponse(200, {k: record[k] for k in ("uri", "cid", "value")})

        @pds.route("GET", "/xrpc/app.bsky.actor.getProfile")
        def get_profile(request: FakeRequest) -> FakeResponse:
            user = self._user(request)
            if isinstance(user, FakeResponse):
                return user
            actor = request.query.get("actor", "")
            did = actor if actor in self.accounts else self._handle_did(actor)
            if did is None or did in self.appview_unknown:  # proxied to an AppView that has not indexed it
                return xrpc_error(400, "InvalidRequest", "Profile not found")
            return FakeResponse(200, {**self.accounts[did], "postsCount": len(self.records[did])})

        @pds.route("GET", "/xrpc/app.bsky.feed.getPosts")
        def get_posts(request: FakeRequest) -> FakeResponse:
            user = self._user(request)
            if isinstance(user, FakeResponse):
                return user
            uri = request.query.get("uris", "")
            parts = uri.removeprefix("at://").split("/")
            with self.lock:
                record = self.records.get(parts[0], {}).get(parts[-1]) if len(parts) == 3 else None
            return FakeResponse(200, {"posts": [self._post_view(record)] if record else []})
