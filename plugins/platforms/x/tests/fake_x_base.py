"""Plumbing of the X fake: state, X's error bodies, rate-limit windows, the validating route wrapper."""

from __future__ import annotations

import collections
import email.parser
import email.policy
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fake_x_spec import Operation, SpecError, XSpec

from ocma_core.testing import FakeRequest, FakeResponse, FakeServer

TWEPOCH_MS = 1288834974657
PROBLEMS = "https://api.x.com/2/problems/"
JSON = "application/json; charset=utf-8"
PROBLEM_JSON = "application/problem+json"

#: per-user 15-minute limits, and per-app 24-hour limits, from X's rate-limit table
USER_15MIN = {
    "POST /2/tweets": 100,
    "DELETE /2/tweets/{id}": 50,
    "GET /2/tweets/{id}": 900,
    "GET /2/users/{id}/tweets": 900,
    "GET /2/users/me": 75,
    "POST /2/media/upload": 500,
    "GET /2/media/upload": 1000,
    "POST /2/media/upload/initialize": 1875,
    "POST /2/media/upload/{id}/append": 1875,
    "POST /2/media/upload/{id}/finalize": 1875,
    "POST /2/media/metadata": 500,
}
POSTS_USER_24H = 2400  # X's user-level daily post limit as reported in x-user-limit-24hour-limit
POSTS_APP_24H = 10_000


def about_blank(
    status: int, title: str, detail: str | None = None, headers: dict[str, str] | None = None
) -> FakeResponse:
    """X's RFC 7807 body with `type: about:blank` (as sent for 401, 403 duplicate, 429, 503)."""
    body = {"title": title, "type": "about:blank", "status": status, "detail": detail or title}
    return FakeResponse(status, body, {"Content-Type": JSON, **(headers or {})})


def invalid_request(message: str, parameter: str = "", value: str = "") -> FakeResponse:
    """400 invalid-request problem, with the per-parameter `errors` list X adds."""
    body: dict[str, Any] = {
        "type": f"{PROBLEMS}invalid-request",
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "status": 400,
        "errors": [{"message": message, "parameters": {parameter or "body": [value]}}],
    }
    return FakeResponse(400, body, {"Content-Type": PROBLEM_JSON})


def not_found(resource_type: str, resource_id: str, parameter: str = "id") -> FakeResponse:
    """404 resource-not-found problem."""
    body = {
        "type": f"{PROBLEMS}resource-not-found",
        "title": "Not Found Error",
        "detail": f"Could not find {resource_type} with {parameter}: [{resource_id}].",
        "resource_type": resource_type,
        "resource_id": resource_id,
        "parameter": parameter,
        "value": resource_id,
        "status": 404,
    }
    return FakeResponse(404, body, {"Content-Type": PROBLEM_JSON})


def snowflake(when_s: float, sequence: int) -> str:
    """An X id for a creation time (milliseconds since X's epoch in the high bits)."""
    return str(((int(when_s * 1000) - TWEPOCH_MS) << 22) | (sequence & 0x3FFFFF))


def iso(when_s: float) -> str:
    """X's timestamp format: 2026-01-15T12:00:00.000Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when_s)) + f".{int(when_s * 1000) % 1000:03d}Z"


@dataclass
class Token:
    """An issued access or refresh token."""

    user_id: str
    scopes: frozenset[str]
    expires_at: float = 0.0


@dataclass
class FakeXState:
    """Everything the fake remembers."""

    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    access: dict[str, Token] = field(default_factory=dict)
    refresh: dict[str, Token] = field(default_factory=dict)
    used_refresh: set[str] = field(default_factory=set)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    windows: dict[tuple[str, str], collections.deque[float]] = field(default_factory=dict)
    checked: list[tuple[str, int, str]] = field(default_factory=list)  # (operationId, status, schema)


Handler = Callable[[FakeRequest, Token, dict[str, Any]], FakeResponse]


class FakeXBase(FakeServer):
    """Routing with auth, scopes, rate limits and OpenAPI validation of every request and response."""

    def __init__(self) -> None:
        super().__init__()
        self.spec = XSpec.load()
        self.state = FakeXState()
        self.limits = dict(USER_15MIN)
        self.strict_responses = True
        self._sequence = 0
        self._seq_lock = threading.Lock()

    # ----- ids ---------------------------------------------------------------------------------
    def new_id(self, when_s: float | None = None) -> str:
        """A fresh snowflake id."""
        with self._seq_lock:
            self._sequence += 1
            return snowflake(time.time() if when_s is None else when_s, self._sequence)

    # ----- rate limits -------------------------------------------------------------------------
    def _window(self, key: tuple[str, str], limit: int, span: float) -> tuple[dict[str, str], bool]:
        now = time.time()
        with self.lock:
            window = self.state.windows.setdefault(key, collections.deque())
            while window and window[0] <= now - span:
                window.popleft()
            exceeded = len(window) >= limit
            if not exceeded:
                window.append(now)
            reset = int((window[0] if window else now) + span)
            remaining = max(limit - len(window), 0)
        return {"limit": str(limit), "remaining": str(remaining), "reset": str(reset)}, exceeded

    def rate_headers(self, user: str, bucket: str) -> tuple[dict[str, str], bool]:
        """x-rate-limit-* (and the 24-hour headers for POST /2/tweets); True when a window is exhausted."""
        values, exceeded = self._window((user, bucket), self.limits.get(bucket, 900), 900.0)
        headers = {f"x-rate-limit-{k}": v for k, v in values.items()}
        if bucket == "POST /2/tweets":
            for prefix, key, limit in (
                ("x-user-limit-24hour-", (user, "posts-24h"), self.limits.get("user-24h", POSTS_USER_24H)),
                ("x-app-limit-24hour-", ("app", "posts-24h"), self.limits.get("app-24h", POSTS_APP_24H)),
            ):
                values, over = self._window(key, limit, 86400.0)
                headers.update({f"{prefix}{k}": v for k, v in values.items()})
                exceeded = exceeded or over
        return headers, exceeded

    # ----- auth --------------------------------------------------------------------------------
    def bearer_token(self, request: FakeRequest) -> Token | None:
        """The live access token of the request."""
        with self.lock:
            token = self.state.access.get(request.bearer() or "")
        if token is None or token.expires_at < time.time():
            return None
        return token

    # ----- routes ------------------------------------------------------------------------------
    def api(self, method: str, spec_path: str, handler: Handler) -> None:
        """Register an API route validated against the operation at `spec_path`."""
        op = self.spec.operation(method, spec_path)
        bucket = f"{method.upper()} {spec_path}"
        pattern = (
            "^"
            + spec_path.replace("{id}", r"(?P<id>[^/]+)").replace("{username}", r"(?P<username>\w+)")
            + "$"
        )

        def route(request: FakeRequest) -> FakeResponse:
            token = self.bearer_token(request)
            if token is None:
                response = about_blank(401, "Unauthorized")
            elif not self.spec.required_scopes(op) <= token.scopes:
                response = about_blank(403, "Forbidden", "Missing OAuth 2.0 scope for this endpoint.")
            else:
                headers, exceeded = self.rate_headers(token.user_id, bucket)
                if exceeded:
                    response = about_blank(429, "Too Many Requests", headers=headers)
                else:
                    response = self._validated_call(op, request, token, handler)
                    response.headers = {**headers, **response.headers}
            return self._checked(op, response)

        self.route(method, pattern)(route)

    def _validated_call(
        self, op: Operation, request: FakeRequest, token: Token, handler: Handler
    ) -> FakeResponse:
        try:
            query = self.spec.check_query(op, request.query)
            body: dict[str, Any] = {}
            content_type = request.header("content-type").split(";")[0].strip()
            if content_type == "multipart/form-data":
                fields, files = parse_multipart(request)
                body = self.spec.check_multipart(op, fields, files)
            elif request.body:
                try:
                    body = json.loads(request.body)
                except ValueError:
                    return invalid_request("Request body is not valid JSON.")
                self.spec.check_json_body(op, body)
            elif self.spec.request_schema(op, "application/json") is not None:
                return invalid_request("Request body is required.")
        except SpecError as exc:
            return invalid_request(str(exc), exc.parameter)
        return handler(request, token, {"query": query, "body": body})

    def _checked(self, op: Operation, response: FakeResponse) -> FakeResponse:
        """Validate the response against the spec; a mismatch is the fake's bug and becomes a 500."""
        if response.body is None or isinstance(response.body, bytes | str):
            return response
        content_type = response.headers.get("Content-Type", "application/json")
        body = response.body
        if getattr(self, "spelling", "spec") == "classic":
            body = to_spec_spelling(body)  # the classic names are checked as the renamed fields they are
        try:
            schema = self.spec.check_response(op, response.status, body, content_type)
        except SpecError as exc:
            if not self.strict_responses:
                raise
            return FakeResponse(500, {"title": "fake response off-spec", "detail": str(exc)})
        with self.lock:
            self.state.checked.append((op.operation_id, response.status, schema))
        return response

    def new_token_pair(self, user_id: str, scopes: frozenset[str]) -> dict[str, Any]:
        """Issue an access token (2 h) and, with offline.access, a single-use refresh token."""
        access = secrets.token_urlsafe(32)
        body: dict[str, Any] = {
            "token_type": "bearer",
            "expires_in": 7200,
            "access_token": access,
            "scope": " ".join(sorted(scopes)),
        }
        with self.lock:
            self.state.access[access] = Token(user_id, scopes, time.time() + 7200)
            if "offline.access" in scopes:
                refresh = secrets.token_urlsafe(32)
                self.state.refresh[refresh] = Token(user_id, scopes)
                body["refresh_token"] = refresh
        return body


CLASSIC_TO_SPEC = {
    "retweet_count": "repost_count",
    "tweet_count": "post_count",
    "edit_history_tweet_ids": "edit_history_post_ids",
}


def to_spec_spelling(node: Any) -> Any:
    """A body with X's classic field names renamed to the 2026-08 description's names."""
    if isinstance(node, dict):
        return {CLASSIC_TO_SPEC.get(k, k): to_spec_spelling(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_spec_spelling(v) for v in node]
    return node


def parse_multipart(request: FakeRequest) -> tuple[dict[str, str], dict[str, bytes]]:
    """Text fields and file parts of a multipart/form-data body."""
    head = f"Content-Type: {request.header('content-type')}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if not isinstance(name, str):
            continue
        if part.get_param("filename", header="content-disposition"):
            files[name] = bytes(payload)
        else:
            fields[name] = bytes(payload).decode("utf-8")
    return fields, files
