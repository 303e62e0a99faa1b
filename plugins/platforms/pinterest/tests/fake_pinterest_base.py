"""Plumbing of the Pinterest fake: state, error bodies, rate-limit categories, the validating route wrapper.

Every API route is registered with the operation it implements in Pinterest's OpenAPI description: the path
and query parameters and the body of each request are validated against it first, before authentication and
the handler (an off-spec request gets Pinterest's 400 error body and is recorded in `spec_errors`; a valid one
is counted in `valid_requests`), and each answer is validated against the documented response schema (an
off-spec answer is the fake's own bug: a 500).
"""

from __future__ import annotations

import base64
import collections
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from fake_pinterest_spec import Operation, PinterestSpec, SpecError

from ocma_core.testing import FakeRequest, FakeResponse, FakeServer

CLIENT_ID = "1484262"
CLIENT_SECRET = "fake-pinterest-app-secret"
USER_ID = "2783136121146311751"
USERNAME = "ocma_pins"
TRIAL_PER_DAY = 1000  # trial access: 1,000 calls a day per category (platform-contracts §7.4)


def error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> FakeResponse:
    """Pinterest's error body {code, message}."""
    return FakeResponse(status, {"code": code, "message": message}, headers or {})


def iso(when_s: float) -> str:
    """An RFC 3339 date-time: 2026-01-15T12:00:00Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when_s))


@dataclass
class Token:
    """An issued token."""

    user_id: str
    scopes: frozenset[str]
    expires_at: float = 0.0


@dataclass
class FakePinterestState:
    """Everything the fake remembers."""

    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    access: dict[str, Token] = field(default_factory=dict)
    refresh: dict[str, Token] = field(default_factory=dict)
    revoked: list[str] = field(default_factory=list)
    boards: dict[str, dict[str, Any]] = field(default_factory=dict)
    sections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    pins: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploads: dict[str, bytes] = field(default_factory=dict)  # media id -> the file's bytes
    metrics: dict[str, dict[str, int]] = field(default_factory=dict)  # pin id -> counts the test recorded
    windows: dict[tuple[str, str], collections.deque[float]] = field(default_factory=dict)
    checked: list[tuple[str, int, str]] = field(default_factory=list)  # (operationId, status, schema)
    spec_errors: list[str] = field(default_factory=list)  # requests refused as off-spec
    valid_requests: int = 0  # API requests checked and found valid under the description


Handler = Callable[[FakeRequest, Token | None, dict[str, Any]], FakeResponse]


class FakePinterestBase(FakeServer):
    """Routing with auth, scopes, rate-limit categories and OpenAPI validation of requests and responses."""

    def __init__(self) -> None:
        super().__init__()
        self.spec = PinterestSpec.load()
        self.state = FakePinterestState()
        self.per_day = TRIAL_PER_DAY
        self._sequence = int(time.time()) % 100_000 * 1000
        self._seq_lock = threading.Lock()

    @property
    def api_base(self) -> str:
        """What OCMA_PINTEREST_API_BASE points at (the /v5 prefix included)."""
        return f"{self.base_url}/v5"

    def new_id(self) -> str:
        """A fresh numeric id (Pinterest ids are digit strings)."""
        with self._seq_lock:
            self._sequence += 1
            return str(1_000_000_000_000_000 + self._sequence)

    # ----- rate limits -------------------------------------------------------------------------------
    def rate_headers(self, user: str, category: str) -> tuple[dict[str, str], bool]:
        """x-ratelimit-* for the operation's category; True when today's calls are used up."""
        now, span = time.time(), 86400.0
        with self.lock:
            window = self.state.windows.setdefault((user, category), collections.deque())
            while window and window[0] <= now - span:
                window.popleft()
            exceeded = len(window) >= self.per_day
            if not exceeded:
                window.append(now)
            reset = int((window[0] if window else now) + span - now)
            remaining = max(self.per_day - len(window), 0)
        headers = {
            "x-ratelimit-limit": str(self.per_day),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": str(max(reset, 1)),
        }
        return headers, exceeded

    # ----- auth --------------------------------------------------------------------------------------
    def bearer_token(self, request: FakeRequest) -> Token | None:
        """The live access token of the request."""
        with self.lock:
            token = self.state.access.get(request.bearer() or "")
        if token is None or token.expires_at < time.time():
            return None
        return token

    def basic_ok(self, request: FakeRequest) -> bool:
        """HTTP Basic with the app's id and secret."""
        value = request.header("authorization")
        if not value.lower().startswith("basic "):
            return False
        try:
            raw = base64.b64decode(value[6:]).decode()
        except ValueError:
            return False
        return raw == f"{CLIENT_ID}:{CLIENT_SECRET}"

    def issue(self, user_id: str, scopes: frozenset[str], kind: str) -> dict[str, Any]:
        """A token response: a 30-day access token and a 60-day (continuous) refresh token."""
        access, refresh = "pina_" + secrets.token_urlsafe(24), "pinr_" + secrets.token_urlsafe(24)
        now = time.time()
        with self.lock:
            self.state.access[access] = Token(user_id, scopes, now + 30 * 86400)
            self.state.refresh[refresh] = Token(user_id, scopes, now + 60 * 86400)
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": 30 * 86400,
            "scope": ",".join(sorted(scopes)),
            "refresh_token": refresh,
            "refresh_token_expires_in": 60 * 86400,
            "refresh_token_expires_at": int(now + 60 * 86400),
            "response_type": kind,
        }

    # ----- routes --------------------------------------------------------------------------------------
    def api(self, method: str, spec_path: str, handler: Handler) -> None:
        """Register a route validated against the operation at `spec_path` (served under /v5)."""
        op = self.spec.operation(method, spec_path)
        pattern = "^/v5" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", spec_path) + "$"

        def route(request: FakeRequest) -> FakeResponse:
            data = self._validated(op, request)  # every request is checked, whatever the answer will be
            if isinstance(data, FakeResponse):
                return self._checked(op, data)
            scopes = self.spec.required_scopes(op)
            token = self.bearer_token(request) if scopes is not None else None
            if (scopes is None and not self.basic_ok(request)) or (scopes is not None and token is None):
                response = error(401, 2, "Authentication failed.")
            elif token is not None and not scopes <= token.scopes:
                response = error(403, 403, f"Missing scopes: {', '.join(sorted(scopes - token.scopes))}.")
            else:
                headers, exceeded = self.rate_headers(token.user_id if token else "app", op.category)
                if exceeded:
                    response = error(429, 429, "You have exceeded your rate limit. Try again later.", headers)
                else:
                    response = handler(request, token, data)
                    response.headers = {**headers, **response.headers}
            return self._checked(op, response)

        self.route(method, pattern)(route)

    def _validated(self, op: Operation, request: FakeRequest) -> dict[str, Any] | FakeResponse:
        """The typed query and body of a request valid under the description, else Pinterest's 400."""
        content_type = request.header("content-type").split(";")[0].strip()
        try:
            self.spec.check_params(op, "path", dict(request.params))
            query = self.spec.check_params(op, "query", request.query)
            body: Any = None
            if request.body:
                if content_type == "application/json":
                    body = json.loads(request.body)
                elif content_type == "application/x-www-form-urlencoded":
                    pairs = parse_qs(request.body.decode(), keep_blank_values=True)
                    body = {k: v[0] for k, v in pairs.items()}
                else:
                    raise SpecError(f"{op.operation_id}: unexpected content type {content_type!r}")
            self.spec.check_body(op, content_type or "application/json", body)
        except (SpecError, ValueError) as exc:
            with self.lock:
                self.state.spec_errors.append(str(exc))
            return error(400, 1, f"Invalid request: {exc}")
        with self.lock:
            self.state.valid_requests += 1
        return {"query": query, "body": body or {}}

    def _checked(self, op: Operation, response: FakeResponse) -> FakeResponse:
        """Validate the answer against the description; an off-spec answer becomes a 500."""
        if isinstance(response.body, bytes | str):
            return response
        try:
            schema = self.spec.check_response(op, response.status, response.body)
        except SpecError as exc:
            return FakeResponse(500, {"code": 500, "message": f"fake response off-spec: {exc}"})
        with self.lock:
            self.state.checked.append((op.operation_id, response.status, schema))
        return response
