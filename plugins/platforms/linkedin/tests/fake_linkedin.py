"""FakeLinkedIn: a loopback imitation of the LinkedIn endpoints the ocma-linkedin plugin calls.

Wire format as LinkedIn documents it: OAuth 2.0 at /oauth/v2/authorization and /oauth/v2/accessToken
(client_id + client_secret in the form, 60-day access tokens, refresh tokens only for "partner" apps with a
fixed 365-day lifetime, scopes echoed comma-separated), GET /v2/userinfo (OpenID Connect), and the versioned
/rest/* API, which requires `LinkedIn-Version: YYYYMM` (400 VERSION_MISSING without it, 426 for an inactive
version) and `X-Restli-Protocol-Version: 2.0.0`. POST /rest/posts validates the body and answers 201 with an
empty body and the URN in `x-restli-id`; commentary is cut at the first unescaped "little" reserved
character, as LinkedIn silently does. Errors use LinkedIn's body {status, serviceErrorCode, code, message}.
Posts API routes: fake_linkedin_posts.py; media, organisations and statistics: fake_linkedin_rest.py.
"""

from __future__ import annotations

import collections
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fake_linkedin_posts import AUTHOR, install_post_routes, unescape_commentary
from fake_linkedin_rest import install_rest_routes

from ocma_core.testing import FakeRequest, FakeResponse, FakeServer

CLIENT_ID = "fake-linkedin-client-id"
CLIENT_SECRET = "fake-linkedin-client-secret"
MEMBER_SUB = "782bbtaQ"
ORG_ID = "2414183"
ACCESS_TTL_S = 5_184_000  # 60 days
REFRESH_TTL_S = 31_536_000  # 365 days
KNOWN_SCOPES = frozenset(
    {
        "openid",
        "profile",
        "email",
        "w_member_social",
        "w_organization_social",
        "r_organization_social",
        "rw_organization_admin",
        "r_member_social",
        "r_member_postAnalytics",
        "r_member_profileAnalytics",
    }
)


def li_error(
    status: int,
    message: str,
    code: str | None = None,
    service: int | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> FakeResponse:
    """LinkedIn's error body."""
    body: dict[str, Any] = {"status": status, "message": message}
    if code:
        body["code"] = code
    if service is not None:
        body["serviceErrorCode"] = service
    body.update(extra)
    return FakeResponse(status, body, headers or {})


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

    def __init__(
        self,
        *,
        partner_app: bool = True,
        allowed_scopes: frozenset[str] = KNOWN_SCOPES,
        active_versions: tuple[str, str] = ("202511", "202611"),
        port: int = 0,
    ) -> None:
        super().__init__(port=port)
        self.state = FakeLinkedInState()
        self.partner_app = partner_app  # only approved partner apps receive refresh tokens
        self.allowed_scopes = allowed_scopes  # scopes the app's products grant
        self.active_versions = active_versions
        self.video_processing_polls = 0
        self.injected: list[tuple[str, re.Pattern[str], int]] = []
        self.pending: collections.deque[tuple[str, float]] = collections.deque()
        self._ids = 7_150_000_000_000_000_000
        self._id_lock = threading.Lock()
        self.state.members[MEMBER_SUB] = {
            "name": "Ada Lovelace",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "email": "ada@example.com",
        }
        self.add_org(ORG_ID, "Devtestco", role="ADMINISTRATOR")
        self._install_routes()
        install_post_routes(self)
        install_rest_routes(self)

    # ----- test controls -------------------------------------------------------------------------
    def add_org(
        self,
        org_id: str,
        name: str,
        *,
        role: str = "ADMINISTRATOR",
        state: str = "APPROVED",
        followers: int = 0,
    ) -> str:
        """An organisation page with an access-control entry for the member; returns its URN."""
        with self.lock:
            self.state.orgs[org_id] = {
                "localizedName": name,
                "vanityName": name.lower(),
                "followers": followers,
            }
            self.state.acls.append(
                {
                    "roleAssignee": f"urn:li:person:{MEMBER_SUB}",
                    "state": state,
                    "role": role,
                    "organization": f"urn:li:organization:{org_id}",
                }
            )
        return f"urn:li:organization:{org_id}"

    def fail_next(self, kind: str, *, retry_after_s: float = 30.0) -> None:
        """Fail the next POST /rest/posts: rate_limit (with Retry-After), rate_limit_daily (without),
        auth, server_error (nothing stored) or timeout_after_store (stored, answered after 5 s)."""
        if kind not in ("rate_limit", "rate_limit_daily", "auth", "server_error", "timeout_after_store"):
            raise ValueError(kind)
        self.pending.append((kind, retry_after_s))

    def fail_request(self, method: str, path_pattern: str, status: int = 502) -> None:
        """Answer the next METHOD request whose path matches `path_pattern` with a LinkedIn error `status`."""
        with self.lock:
            self.injected.append((method.upper(), re.compile(path_pattern), status))

    def dispatch(self, request: FakeRequest) -> FakeResponse:
        """Route the request, unless a failure was injected for it."""
        with self.lock:
            hit = next(
                (f for f in self.injected if f[0] == request.method and f[1].fullmatch(request.path)), None
            )
            if hit is not None:
                self.injected.remove(hit)
                self.requests.append(request)
        if hit is not None:
            return li_error(hit[2], "Injected failure", "INJECTED")
        return super().dispatch(request)

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
            raise ValueError(
                f"unauthorized_scope_error: Scope {unknown[0]!r} is not authorized for your application"
            )
        if not approve:
            return "", query["state"]
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.state.codes[code] = {
                "redirect_uri": query["redirect_uri"],
                "scopes": scopes,
                "issued": time.time(),
            }
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
            return li_error(
                401,
                "The token used in the request has been revoked by the user",
                "REVOKED_ACCESS_TOKEN",
                65601,
            )
        if grant is None or grant.expires_at < time.time():
            return li_error(401, "Invalid access token", service=65600)
        return grant

    def rest(self, request: FakeRequest) -> Grant | FakeResponse:
        """Checks every /rest/* call makes: the version headers, then the token."""
        version = request.header("linkedin-version")
        if not version:
            return li_error(
                400,
                "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
                "VERSION_MISSING",
            )
        if not re.fullmatch(r"\d{6}(\.\d{2})?", version) or not (
            self.active_versions[0] <= version[:6] <= self.active_versions[1]
        ):
            return li_error(426, f"Requested version {version} is not active", "NONEXISTENT_VERSION")
        if request.header("x-restli-protocol-version") != "2.0.0":
            return li_error(
                400,
                "Rest.li protocol 2.0.0 is required: send X-Restli-Protocol-Version: 2.0.0",
                "ILLEGAL_ARGUMENT",
            )
        return self.grant(request)

    def may_act_as(self, grant: Grant, author: str, *, write: bool) -> bool:
        """True when the member may post (or read) as `author`."""
        match = AUTHOR.match(author)
        if not match:
            return False
        if match.group(1) == "person":  # reading member posts needs the restricted r_member_social
            return (
                match.group(2) == grant.sub
                and ("w_member_social" if write else "r_member_social") in grant.scopes
            )
        needed = {"w_organization_social"} if write else {"r_organization_social", "rw_organization_admin"}
        return bool(needed & set(grant.scopes)) and self.is_admin(grant.sub, author)

    def is_admin(self, sub: str, org: str) -> bool:
        """True when the member is an approved ADMINISTRATOR of the organisation."""
        with self.lock:
            return any(
                a["roleAssignee"] == f"urn:li:person:{sub}"
                and a["organization"] == org
                and a["role"] == "ADMINISTRATOR"
                and a["state"] == "APPROVED"
                for a in self.state.acls
            )

    def _issue(self, sub: str, scopes: tuple[str, ...], refresh: str | None = None) -> dict[str, Any]:
        access = "AQ" + secrets.token_urlsafe(40)
        now = time.time()
        body: dict[str, Any] = {
            "access_token": access,
            "expires_in": ACCESS_TTL_S,
            "scope": ",".join(scopes),
            "token_type": "Bearer",
        }
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
    def _install_routes(self) -> None:
        @self.route("GET", "/oauth/v2/authorization")
        def authorize_page(request: FakeRequest) -> FakeResponse:
            code, state = self.authorize(request.path + "?" + urlencode(request.query))
            target = request.query["redirect_uri"] + "?" + urlencode({"code": code, "state": state})
            return FakeResponse(302, b"", {"Location": target})

        @self.route("POST", "/oauth/v2/accessToken")
        def token(request: FakeRequest) -> FakeResponse:
            form = request.form()
            if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                return FakeResponse(
                    401, {"error": "invalid_client", "error_description": "Client authentication failed"}
                )
            if form.get("grant_type") == "authorization_code":
                with self.lock:
                    grant = self.state.codes.pop(form.get("code", ""), None)
                if (
                    grant is None
                    or time.time() - grant["issued"] > 1800
                    or form.get("redirect_uri") != grant["redirect_uri"]
                ):
                    return FakeResponse(
                        400,
                        {
                            "error": "invalid_request",
                            "error_description": (
                                "Unable to retrieve access token: appid/redirect uri/code verifier does not "
                                "match authorization code. Or authorization code expired."
                            ),
                        },
                    )
                return FakeResponse(200, self._issue(MEMBER_SUB, grant["scopes"]))
            if form.get("grant_type") == "refresh_token":
                refresh = form.get("refresh_token", "")
                with self.lock:
                    held = self.state.refresh.get(refresh)
                if held is None or held.expires_at < time.time():
                    return FakeResponse(
                        400,
                        {
                            "error": "invalid_request",
                            "error_description": "The provided refresh token is invalid or expired",
                        },
                    )
                return FakeResponse(200, self._issue(held.sub, held.scopes, refresh))
            return FakeResponse(400, {"error": "unsupported_grant_type", "error_description": "grant_type"})

        @self.route("GET", "/v2/userinfo")
        def userinfo(request: FakeRequest) -> FakeResponse:
            grant = self.grant(request)
            if isinstance(grant, FakeResponse):
                return grant
            if "openid" not in grant.scopes:
                return li_error(
                    403, "Not enough permissions to access: userinfo.GET.NO_VERSION", "ACCESS_DENIED", 100
                )
            member = self.state.members[grant.sub]
            body: dict[str, Any] = {"sub": grant.sub, "locale": {"country": "US", "language": "en"}}
            if "profile" in grant.scopes:
                body.update(
                    name=member["name"], given_name=member["given_name"], family_name=member["family_name"]
                )
            if "email" in grant.scopes:
                body.update(email=member["email"], email_verified=True)
            return FakeResponse(200, body)
