"""FakeLinkedIn: a loopback imitation of the LinkedIn endpoints the ocma-linkedin plugin calls.

Wire format as LinkedIn documents it: OAuth 2.0 at /oauth/v2/authorization and /oauth/v2/accessToken
(client_id + client_secret in the form, 60-day access tokens, refresh tokens only for "partner" apps with a
fixed 365-day lifetime, scopes echoed comma-separated), GET /v2/userinfo (OpenID Connect), and the versioned
/rest/* API, which requires `LinkedIn-Version: YYYYMM` (400 VERSION_MISSING without it, 426 for an inactive
version) and `X-Restli-Protocol-Version: 2.0.0`. POST /rest/posts validates the body and answers 201 with an
empty body and the URN in `x-restli-id`; commentary is cut at the first unescaped "little" reserved
character, as LinkedIn silently does. Errors use LinkedIn's body {status, serviceErrorCode, code, message}.
Media, organisations and statistics routes live in fake_linkedin_rest.py.
"""

from __future__ import annotations

import collections
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from fake_linkedin_rest import install_rest_routes

from ocma_core.testing import FakeRequest, FakeResponse, FakeServer

CLIENT_ID = "fake-linkedin-client-id"
CLIENT_SECRET = "fake-linkedin-client-secret"
MEMBER_SUB = "782bbtaQ"
ORG_ID = "2414183"
ACCESS_TTL_S = 5_184_000  # 60 days
REFRESH_TTL_S = 31_536_000  # 365 days
KNOWN_SCOPES = frozenset(
    {"openid", "profile", "email", "w_member_social", "w_organization_social", "r_organization_social",
     "rw_organization_admin", "r_member_postAnalytics", "r_member_profileAnalytics"}
)
POST_FIELDS = frozenset(
    {"author", "commentary", "visibility", "distribution", "lifecycleState", "isReshareDisabledByAuthor",
     "content", "contentLandingPage", "contentCallToActionLabel", "reshareContext", "container"}
)
AUTHOR = re.compile(r"^urn:li:(person|organization):([A-Za-z0-9_-]+)$")
# The fake's own reading of the little format (independent of the plugin's escaping code).
LITTLE_RESERVED = set("|{}@[]()<>\\*_~")
LITTLE_MENTION = re.compile(r"@\[[^\]]*\]\(urn:li:(?:person|organization):[^)]+\)")


def first_unescaped_reserved(commentary: str) -> int | None:
    """Where LinkedIn cuts a commentary: the first reserved character neither escaped nor in a mention."""
    i = 0
    while i < len(commentary):
        mention = LITTLE_MENTION.match(commentary, i)
        if mention:
            i = mention.end()
        elif commentary[i] == "\\":
            i += 2
        elif commentary[i] in LITTLE_RESERVED:
            return i
        else:
            i += 1
    return None


def unescape_commentary(commentary: str) -> str:
    """The text a reader sees: backslash escapes resolved."""
    return re.sub(r"\\(.)", lambda m: m.group(1), commentary)


def li_error(status: int, message: str, code: str | None = None, service: int | None = None,
             headers: dict[str, str] | None = None, **extra: Any) -> FakeResponse:
    """LinkedIn's error body."""
    body: dict[str, Any] = {"status": status, "message": message}
    if code:
        body["code"] = code
    if service is not None:
        body["serviceErrorCode"] = service
    body.update(extra)
    return FakeResponse(status, body, headers or {})


def unprocessable(path: str, reason: str) -> FakeResponse:
    """A 422 schema error in LinkedIn's `ERROR :: /path :: reason` form."""
    return li_error(422, f"ERROR :: {path} :: {reason}\n")


@dataclass
class Grant:
    """Who a token acts for and what it may do."""

    sub: str
    scopes: tuple[str, ...]
    expires_at: float


@dataclass
class FakeLinkedInState:
    """Everything the fake remembers."""

    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    access: dict[str, Grant] = field(default_factory=dict)
    expired: set[str] = field(default_factory=set)
    revoked: set[str] = field(default_factory=set)
    refresh: dict[str, Grant] = field(default_factory=dict)
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    orgs: dict[str, dict[str, Any]] = field(default_factory=dict)
    acls: list[dict[str, Any]] = field(default_factory=list)
    images: dict[str, dict[str, Any]] = field(default_factory=dict)
    videos: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploads: dict[str, tuple[str, str, int]] = field(default_factory=dict)  # id -> (kind, urn, part)
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    stats: dict[str, dict[str, float]] = field(default_factory=dict)
    truncated: list[str] = field(default_factory=list)
    member_followers: int = 0


class FakeLinkedIn(FakeServer):
    """The fake LinkedIn with test controls (failure injection, token expiry, statistics)."""

    def __init__(self, *, partner_app: bool = True, allowed_scopes: frozenset[str] = KNOWN_SCOPES,
                 active_versions: tuple[str, str] = ("202511", "202611"), port: int = 0) -> None:
        super().__init__(port=port)
        self.state = FakeLinkedInState()
        self.partner_app = partner_app  # only approved partner apps receive refresh tokens
        self.allowed_scopes = allowed_scopes  # scopes the app's products grant
        self.active_versions = active_versions
        self.video_processing_polls = 0
        self._next: collections.deque[tuple[str, float]] = collections.deque()
        self._ids = 7_150_000_000_000_000_000
        self._id_lock = threading.Lock()
        self.state.members[MEMBER_SUB] = {"name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace",
                                          "email": "ada@example.com"}
        self.add_org(ORG_ID, "Devtestco", role="ADMINISTRATOR")
        self._install_routes()
        install_rest_routes(self)

    # ----- test controls -------------------------------------------------------------------------
    def add_org(self, org_id: str, name: str, *, role: str = "ADMINISTRATOR", state: str = "APPROVED",
                followers: int = 0) -> str:
        """An organisation page with an access-control entry for the member; returns its URN."""
        with self.lock:
            self.state.orgs[org_id] = {"localizedName": name, "vanityName": name.lower(), "followers": followers}
            self.state.acls.append({"roleAssignee": f"urn:li:person:{MEMBER_SUB}", "state": state, "role": role,
                                    "organization": f"urn:li:organization:{org_id}"})
        return f"urn:li:organization:{org_id}"

    def fail_next(self, kind: str, *, retry_after_s: float = 30.0) -> None:
        """Fail the next POST /rest/posts: rate_limit (with Retry-After), rate_limit_daily (without),
        auth, server_error (nothing stored) or timeout_after_store (stored, answered after 5 s)."""
        if kind not in ("rate_limit", "rate_limit_daily", "auth", "server_error", "timeout_after_store"):
            raise ValueError(kind)
        self._next.append((kind, retry_after_s))

    def expire_tokens(self) -> None:
        """Invalidate every access token (refresh tokens stay valid)."""
        with self.lock:
            self.state.expired.update(self.state.access)
            self.state.access.clear()

    def revoke_tokens(self) -> None:
        """The member revoked the app: access tokens answer 65601 REVOKED_ACCESS_TOKEN."""
        with self.lock:
            self.state.revoked.update(self.state.access)
            self.state.access.clear()
            self.state.refresh.clear()

    def published_texts(self) -> list[str]:
        """Plain texts of the posts LinkedIn holds now (commentary with little escapes removed)."""
        with self.lock:
            return [unescape_commentary(p["commentary"]) for p in self.state.posts.values()]

    def set_post_stats(self, urn: str, **values: float) -> None:
        """Set the counters a post's statistics report (impressionCount, likeCount, ...)."""
        with self.lock:
            self.state.stats.setdefault(urn, {}).update(values)

    def authorize(self, authorize_url: str, *, approve: bool = True) -> tuple[str, str]:
        """Consent as the member would; returns (code, state) as the redirect carries them."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        assert query.get("response_type") == "code", "response_type must be code"
        assert query.get("client_id") == CLIENT_ID, "unknown client_id"
        assert query.get("redirect_uri"), "redirect_uri is required"
        scopes = tuple(query.get("scope", "").split())
        unknown = [s for s in scopes if s not in self.allowed_scopes]
        if unknown:
            raise ValueError(f"unauthorized_scope_error: Scope {unknown[0]!r} is not authorized for your application")
        if not approve:
            return "", query["state"]
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.state.codes[code] = {"redirect_uri": query["redirect_uri"], "scopes": scopes, "issued": time.time()}
        return code, query["state"]

    # ----- helpers used by the routes ------------------------------------------------------------
    def new_id(self) -> str:
        """A numeric id like LinkedIn's share ids."""
        with self._id_lock:
            self._ids += secrets.randbelow(1000) + 1
            return str(self._ids)

    def grant(self, request: FakeRequest) -> Grant | FakeResponse:
        """The token's grant, or LinkedIn's 401 for a missing, invalid, expired or revoked token."""
        token = request.bearer()
        if token is None:
            return li_error(401, "Empty oauth2_access_token", service=401)
        with self.lock:
            grant = self.state.access.get(token)
            revoked = token in self.state.revoked
        if revoked:
            return li_error(401, "The token used in the request has been revoked by the user",
                            "REVOKED_ACCESS_TOKEN", 65601)
        if grant is None or grant.expires_at < time.time():
            return li_error(401, "Invalid access token", service=65600)
        return grant

    def rest(self, request: FakeRequest) -> Grant | FakeResponse:
        """Checks every /rest/* call makes: the version headers, then the token."""
        version = request.header("linkedin-version")
        if not version:
            return li_error(400, "A version must be present. Please specify a version by adding the "
                            "LinkedIn-Version header.", "VERSION_MISSING")
        if not re.fullmatch(r"\d{6}(\.\d{2})?", version) or not (
            self.active_versions[0] <= version[:6] <= self.active_versions[1]
        ):
            return li_error(426, f"Requested version {version} is not active", "NONEXISTENT_VERSION")
        if request.header("x-restli-protocol-version") != "2.0.0":
            return li_error(400, "Rest.li protocol 2.0.0 is required: send X-Restli-Protocol-Version: 2.0.0",
                            "ILLEGAL_ARGUMENT")
        return self.grant(request)

    def may_act_as(self, grant: Grant, author: str, *, write: bool) -> bool:
        """True when the member may post (or read) as `author`."""
        match = AUTHOR.match(author)
        if not match:
            return False
        if match.group(1) == "person":
            return match.group(2) == grant.sub and (not write or "w_member_social" in grant.scopes)
        needed = {"w_organization_social"} if write else {"r_organization_social", "rw_organization_admin"}
        return bool(needed & set(grant.scopes)) and self.is_admin(grant.sub, author)

    def is_admin(self, sub: str, org: str) -> bool:
        """True when the member is an approved ADMINISTRATOR of the organisation."""
        with self.lock:
            return any(a["roleAssignee"] == f"urn:li:person:{sub}" and a["organization"] == org
                       and a["role"] == "ADMINISTRATOR" and a["state"] == "APPROVED" for a in self.state.acls)

    def _issue(self, sub: str, scopes: tuple[str, ...], refresh: str | None = None) -> dict[str, Any]:
        access = "AQ" + secrets.token_urlsafe(40)
        now = time.time()
        body: dict[str, Any] = {"access_token": access, "expires_in": ACCESS_TTL_S, "scope": ",".join(scopes),
                                "token_type": "Bearer"}
        with self.lock:
            self.state.access[access] = Grant(sub, scopes, now + ACCESS_TTL_S)
            if self.partner_app:
                if refresh is None:
                    refresh = "AQ" + secrets.token_urlsafe(40)
                    self.state.refresh[refresh] = Grant(sub, scopes, now + REFRESH_TTL_S)
                body["refresh_token"] = refresh
                body["refresh_token_expires_in"] = int(self.state.refresh[refresh].expires_at - now)
        return body

    # ----- OAuth, userinfo, posts ----------------------------------------------------------------
    def _install_routes(self) -> None:  # noqa: C901 - one closure per endpoint reads best here
        @self.route("GET", "/oauth/v2/authorization")
        def authorize_page(request: FakeRequest) -> FakeResponse:
            code, state = self.authorize(request.path + "?" + urlencode(request.query))
            target = request.query["redirect_uri"] + "?" + urlencode({"code": code, "state": state})
            return FakeResponse(302, b"", {"Location": target})

        @self.route("POST", "/oauth/v2/accessToken")
        def token(request: FakeRequest) -> FakeResponse:
            form = request.form()
            if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                return FakeResponse(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
            if form.get("grant_type") == "authorization_code":
                with self.lock:
                    grant = self.state.codes.pop(form.get("code", ""), None)
                if grant is None or time.time() - grant["issued"] > 1800 or \
                        form.get("redirect_uri") != grant["redirect_uri"]:
                    return FakeResponse(400, {"error": "invalid_request", "error_description": (
                        "Unable to retrieve access token: appid/redirect uri/code verifier does not match "
                        "authorization code. Or authorization code expired.")})
                return FakeResponse(200, self._issue(MEMBER_SUB, grant["scopes"]))
            if form.get("grant_type") == "refresh_token":
                refresh = form.get("refresh_token", "")
                with self.lock:
                    held = self.state.refresh.get(refresh)
                if held is None or held.expires_at < time.time():
                    return FakeResponse(400, {"error": "invalid_request",
                                              "error_description": "The provided refresh token is invalid or expired"})
                return FakeResponse(200, self._issue(held.sub, held.scopes, refresh))
            return FakeResponse(400, {"error": "unsupported_grant_type", "error_description": "grant_type"})

        @self.route("GET", "/v2/userinfo")
        def userinfo(request: FakeRequest) -> FakeResponse:
            grant = self.grant(request)
            if isinstance(grant, FakeResponse):
                return grant
            if "openid" not in grant.scopes:
                return li_error(403, "Not enough permissions to access: userinfo.GET.NO_VERSION", "ACCESS_DENIED", 100)
            member = self.state.members[grant.sub]
            body: dict[str, Any] = {"sub": grant.sub, "locale": {"country": "US", "language": "en"}}
            if "profile" in grant.scopes:
                body.update(name=member["name"], given_name=member["given_name"], family_name=member["family_name"])
            if "email" in grant.scopes:
                body.update(email=member["email"], email_verified=True)
            return FakeResponse(200, body)

        @self.route("POST", "/rest/posts")
        def create_post(request: FakeRequest) -> FakeResponse:
            return self._create_post(request)

        @self.route("GET", "/rest/posts")
        def find_posts(request: FakeRequest) -> FakeResponse:
            grant = self.rest(request)
            if isinstance(grant, FakeResponse):
                return grant
            if request.query.get("q") != "author":
                return li_error(400, "Invalid finder: q must be author", "ILLEGAL_ARGUMENT")
            author = request.query.get("author", "")
            if not self.may_act_as(grant, author, write=False) and not self.may_act_as(grant, author, write=True):
                return li_error(403, "Not enough permissions to access: partnerApiPostsExternal.FINDER-author",
                                "ACCESS_DENIED", 100)
            start, count = int(request.query.get("start", "0")), min(int(request.query.get("count", "10")), 100)
            with self.lock:
                mine = sorted((p for p in self.state.posts.values() if p["author"] == author),
                              key=lambda p: p["lastModifiedAt"], reverse=True)
            page = mine[start : start + count]
            return FakeResponse(200, {"paging": {"start": start, "count": count, "total": len(mine), "links": []},
                                      "elements": page})

        @self.route("GET", r"/rest/posts/(?P<urn>[^/]+)")
        def get_post(request: FakeRequest) -> FakeResponse:
            grant = self.rest(request)
            if isinstance(grant, FakeResponse):
                return grant
            with self.lock:
                post = self.state.posts.get(unquote(request.params["urn"]))
            return FakeResponse(200, post) if post else li_error(404, "Not Found", "NOT_FOUND")

        @self.route("DELETE", r"/rest/posts/(?P<urn>[^/]+)")
        def delete_post(request: FakeRequest) -> FakeResponse:
            grant = self.rest(request)
            if isinstance(grant, FakeResponse):
                return grant
            urn = unquote(request.params["urn"])
            with self.lock:
                post = self.state.posts.get(urn)
            if post is None:
                return FakeResponse(204)  # deletions are idempotent
            if not self.may_act_as(grant, post["author"], write=True):
                return li_error(403, "Not enough permissions to access: partnerApiPostsExternal.DELETE",
                                "ACCESS_DENIED", 100)
            with self.lock:
                self.state.posts.pop(urn, None)
            return FakeResponse(204)

    def _create_post(self, request: FakeRequest) -> FakeResponse:
        grant = self.rest(request)
        with self.lock:
            forced = self._next.popleft() if self._next else None
        if forced and forced[0] == "auth":
            return li_error(401, "Invalid access token", service=65600)
        if isinstance(grant, FakeResponse):
            return grant
        if forced and forced[0] in ("rate_limit", "rate_limit_daily"):
            headers = {"Retry-After": f"{forced[1]:g}"} if forced[0] == "rate_limit" else {}
            return li_error(429, "Resource level throttle limit for calls to this resource is reached.",
                            "TOO_MANY_REQUESTS", headers=headers)
        if forced and forced[0] == "server_error":
            return li_error(500, "Internal Server Error", "INTERNAL_SERVER_ERROR")
        body = request.json()
        problem = self._check_post(grant, body)
        if problem is not None:
            return problem
        commentary = str(body.get("commentary", ""))
        cut = first_unescaped_reserved(commentary)
        if cut is not None:  # LinkedIn keeps the text up to the first unescaped reserved character
            with self.lock:
                self.state.truncated.append(commentary)
            commentary = commentary[:cut]
        with self.lock:
            duplicate = next((u for u, p in self.state.posts.items()
                              if p["author"] == body["author"] and p["commentary"] == commentary), None)
        if duplicate:
            return FakeResponse(422, {
                "errorDetailType": "com.linkedin.common.error.BadRequest",
                "message": "com.linkedin.content.common.exception.BadRequestResponseException: Content is a "
                           f"duplicate of {duplicate}",
                "errorDetails": {"inputErrors": [{"description": "Duplicate post is detected", "input": {},
                                                  "code": "DUPLICATE_POST"}]},
                "status": 422})
        urn = f"urn:li:share:{self.new_id()}"
        now_ms = int(time.time() * 1000)
        post = {**body, "id": urn, "commentary": commentary, "createdAt": now_ms, "publishedAt": now_ms,
                "lastModifiedAt": now_ms, "isEditedByAuthor": False}
        with self.lock:
            self.state.posts[urn] = post
        headers = {"x-restli-id": urn, "x-linkedin-id": urn}
        return FakeResponse(201, None, headers, delay_s=5.0 if forced and forced[0] == "timeout_after_store" else 0)

    def _check_post(self, grant: Grant, body: Any) -> FakeResponse | None:  # noqa: C901 - LinkedIn's field checks
        if not isinstance(body, dict):
            return li_error(400, "Request body could not be converted to data map", "ILLEGAL_ARGUMENT")
        for name in body:
            if name not in POST_FIELDS:
                return unprocessable(f"/{name}", "unrecognized field found but not allowed")
        for name in ("author", "commentary", "visibility", "distribution", "lifecycleState"):
            if name not in body:
                return unprocessable(f"/{name}", "field is required but not found and has no default value")
        if not AUTHOR.match(str(body["author"])):
            return unprocessable("/author", f"{body['author']!r} is not a person or organization URN")
        if not self.may_act_as(grant, body["author"], write=True):
            return li_error(403, "Not enough permissions to access: partnerApiPostsExternal.CREATE.20260701",
                            "ACCESS_DENIED", 100)
        if body["visibility"] not in ("PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"):
            return unprocessable("/visibility", f"{body['visibility']!r} is not a valid symbol")
        dist = body["distribution"]
        if not isinstance(dist, dict) or dist.get("feedDistribution") not in ("MAIN_FEED", "NONE"):
            return unprocessable("/distribution/feedDistribution", "must be MAIN_FEED or NONE")
        for name in ("targetEntities", "thirdPartyDistributionChannels"):
            if not isinstance(dist.get(name, []), list):
                return unprocessable(f"/distribution/{name}", "must be an array")
        if body["lifecycleState"] not in ("PUBLISHED", "DRAFT"):
            return unprocessable("/lifecycleState", f"{body['lifecycleState']!r} is not a valid symbol")
        if not isinstance(body["commentary"], str):
            return unprocessable("/commentary", "must be a string")
        if len(unescape_commentary(body["commentary"])) > 3000:
            return unprocessable("/commentary", "length exceeds the maximum of 3000 characters")
        if "isReshareDisabledByAuthor" in body and not isinstance(body["isReshareDisabledByAuthor"], bool):
            return unprocessable("/isReshareDisabledByAuthor", "must be a boolean")
        return self._check_content(body)

    def _check_content(self, body: dict[str, Any]) -> FakeResponse | None:
        content = body.get("content")
        if content is None:
            return None
        if not isinstance(content, dict) or len(content) != 1:
            return unprocessable("/content", "exactly one content type is required")
        if "multiImage" in content:
            images = content["multiImage"].get("images") if isinstance(content["multiImage"], dict) else None
            if not isinstance(images, list) or not 2 <= len(images) <= 20:
                return unprocessable("/content/multiImage/images", "must hold between 2 and 20 images")
            entries = images
        elif "media" in content and isinstance(content["media"], dict):
            entries = [content["media"]]
        else:
            return unprocessable("/content", f"unsupported content {sorted(content)}")
        for entry in entries:
            urn = str(entry.get("id", ""))
            with self.lock:
                asset = self.state.images.get(urn) or self.state.videos.get(urn)
            if asset is None or asset["status"] != "AVAILABLE":
                return unprocessable("/content/media/id", f"{urn} is not an available image or video")
            if asset["owner"] != body["author"]:
                return unprocessable("/content/media/id", f"{urn} is owned by {asset['owner']}, not the author")
            if "urn:li:video:" in urn and "multiImage" in content:
                return unprocessable("/content/multiImage/images", "only images are allowed")
        return None
