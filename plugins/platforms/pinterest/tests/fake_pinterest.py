"""A fake Pinterest API v5 on loopback: OAuth (Basic client auth, continuous refresh, revoke), the user
account, boards and sections, pins from image URLs, base64, carousels and uploaded videos, the S3-style media
upload, analytics. Every request is validated against Pinterest's OpenAPI description (fake_pinterest_base).
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fake_pinterest_base import (
    CLIENT_ID,
    CLIENT_SECRET,
    USER_ID,
    USERNAME,
    FakePinterestBase,
    Token,
    error,
    iso,
)
from fake_pinterest_pins import PinRoutes

from ocma_core.testing import FakeRequest, FakeResponse

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "USER_ID", "FakePinterest"]


class FakePinterest(PinRoutes, FakePinterestBase):
    """Pinterest's API v5 as OCMA's plugin uses it; `boards` is how many boards the user has."""

    def __init__(self, boards: int = 1, legacy_refresh: bool = False, video_polls: int = 2) -> None:
        super().__init__()
        self.legacy_refresh = legacy_refresh  # an app made before 2025-09-25: continuous_refresh=true needed
        self.video_polls = (
            video_polls  # GET /media/{id} answers `processing` this many times, then `succeeded`
        )
        self.fail_video = False
        self.trial_app = False  # an app with Trial access calling production: POST /pins is refused (code 29)
        self._failures: list[tuple[str, float, int]] = []
        names = ["OCMA launches", "Spring recipes", "Travel"][: max(boards, 0)]
        for name in names:
            board_id = self.new_id()
            self.state.boards[board_id] = {"id": board_id, "name": name, "privacy": "PUBLIC", "pin_count": 0}
            self.state.sections[board_id] = [{"id": self.new_id(), "name": f"{name}: highlights"}]
        for method, path, handler in (
            ("POST", "/oauth/token", self._token),
            ("POST", "/oauth/token/revoke", self._revoke),
            ("GET", "/user_account", self._user),
            ("GET", "/user_account/analytics", self._account_analytics),
            ("GET", "/boards", self._boards),
            ("GET", "/boards/{board_id}/sections", self._sections),
            ("POST", "/pins", self._create_pin),
            ("GET", "/pins", self._list_pins),
            ("GET", "/pins/{pin_id}", self._get_pin),
            ("DELETE", "/pins/{pin_id}", self._delete_pin),
            ("GET", "/pins/{pin_id}/analytics", self._pin_analytics),
            ("POST", "/media", self._register_media),
            ("GET", "/media/{media_id}", self._get_media),
        ):
            self.api(method, path, handler)
        self.route("POST", "^/s3-upload/$")(self._s3_upload)

    # ----- what the conformance kit and tests drive ---------------------------------------------------
    def authorize(self, authorize_url: str, *, approve: bool = True) -> tuple[str, str]:
        """Consent at www.pinterest.com/oauth/; returns (code, state)."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        assert urlsplit(authorize_url).path == "/oauth/", authorize_url
        assert query["client_id"] == CLIENT_ID and query["response_type"] == "code", query
        scopes = frozenset(query["scope"].split(","))
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.state.codes[code] = {"redirect_uri": query["redirect_uri"], "scopes": scopes}
        return (code if approve else ""), query.get("state", "")

    def fail_next(self, kind: str, *, retry_after_s: float = 30.0, skip: int = 0) -> None:
        """Fail a coming POST /pins (rate_limit, auth, server_error, timeout_after_store)."""
        with self.lock:
            self._failures.append((kind, retry_after_s, skip))

    def expire_tokens(self) -> None:
        """Every access token expires now (refresh tokens stay valid)."""
        with self.lock:
            for token in self.state.access.values():
                token.expires_at = 0.0

    def published_texts(self) -> list[str]:
        """Descriptions of the pins held now."""
        with self.lock:
            return [str(p.get("description") or "") for p in self.state.pins.values()]

    def parent_of(self, external_id: str) -> str | None:
        """Pins do not reply to each other."""
        return None

    def record(self, pin_id: str, **counts: int) -> None:
        """Counts a test makes happen on a pin (IMPRESSION=..., SAVE=..., ...)."""
        with self.lock:
            current = self.state.metrics.setdefault(pin_id, {})
            for name, value in counts.items():
                current[name] = current.get(name, 0) + value

    def _next_failure(self) -> tuple[str, float] | None:
        with self.lock:
            if not self._failures:
                return None
            kind, retry, skip = self._failures[0]
            if skip:
                self._failures[0] = (kind, retry, skip - 1)
                return None
            self._failures.pop(0)
            return kind, retry

    # ----- OAuth -------------------------------------------------------------------------------------
    def _token(self, request: FakeRequest, _token: Token | None, data: dict[str, Any]) -> FakeResponse:
        form = data["body"]
        grant = form.get("grant_type")
        schema = {
            "authorization_code": "OauthAccessTokenRequestCode",
            "refresh_token": "OauthAccessTokenRequestRefresh",
        }
        if grant not in schema:
            return error(400, 1, f"Unsupported grant_type {grant!r}.")
        try:
            self.spec.validate({"$ref": f"#/components/schemas/{schema[grant]}"}, form, "oauth/token form")
        except ValueError as exc:
            self.state.spec_errors.append(str(exc))
            return error(400, 1, str(exc))
        if grant == "authorization_code":
            with self.lock:
                issued = self.state.codes.pop(form["code"], None)
            if issued is None or issued["redirect_uri"] != form["redirect_uri"]:
                return error(400, 1, "Invalid authorization code or redirect_uri.")
            return FakeResponse(200, self.issue(USER_ID, issued["scopes"], "authorization_code"))
        with self.lock:
            old = self.state.refresh.get(form["refresh_token"])
        if old is None or old.expires_at < time.time():
            return error(400, 1, "Invalid refresh token.")
        body = self.issue(old.user_id, old.scopes, "refresh_token")
        if self.legacy_refresh and form.get("continuous_refresh") != "true":
            for key in ("refresh_token", "refresh_token_expires_in", "refresh_token_expires_at"):
                body.pop(key)  # an old app without continuous refresh keeps its (non-renewed) refresh token
        return FakeResponse(200, body)

    def _revoke(self, request: FakeRequest, _token: Token | None, data: dict[str, Any]) -> FakeResponse:
        token = data["body"]["token"]
        with self.lock:
            self.state.revoked.append(token)
            dropped = self.state.refresh.pop(token, None) or self.state.access.pop(token, None)
            if dropped is not None:  # revoking one token of a grant ends its access tokens too
                for key in [k for k, v in self.state.access.items() if v.user_id == dropped.user_id]:
                    self.state.access.pop(key)
        return FakeResponse(200, None)

    # ----- account and boards ------------------------------------------------------------------------
    def _user(self, request: FakeRequest, _token: Token | None, data: dict[str, Any]) -> FakeResponse:
        with self.lock:
            pins, boards = len(self.state.pins), len(self.state.boards)
        return FakeResponse(200, {
            "id": USER_ID, "username": USERNAME, "account_type": "BUSINESS", "business_name": "OCMA Pins",
            "follower_count": 0, "following_count": 0, "pin_count": pins, "board_count": boards,
            "monthly_views": 0, "profile_image": "https://i.pinimg.com/75x75_RS/00/00/00/0.jpg",
            "website_url": "", "about": "",
        })  # fmt: skip

    def _page(self, items: list[dict[str, Any]], query: dict[str, Any]) -> FakeResponse:
        size, start = int(query.get("page_size", 25)), int(query.get("bookmark") or 0)
        bookmark = str(start + size) if start + size < len(items) else None
        return FakeResponse(200, {"items": items[start : start + size], "bookmark": bookmark})

    def _boards(self, request: FakeRequest, _token: Token | None, data: dict[str, Any]) -> FakeResponse:
        with self.lock:
            boards = [
                {**b, "owner": {"username": USERNAME}, "created_at": iso(time.time())}
                for b in self.state.boards.values()
            ]
        return self._page(boards, data["query"])

    def _sections(self, request: FakeRequest, _token: Token | None, data: dict[str, Any]) -> FakeResponse:
        board = request.params["board_id"]
        if board not in self.state.boards:
            return error(404, 404, "Board not found.")
        return self._page(list(self.state.sections.get(board, [])), data["query"])
