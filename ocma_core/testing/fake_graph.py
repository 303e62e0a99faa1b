"""For fakes of Meta Graph APIs (Facebook, Instagram, Threads): what every one answers with: Meta's error envelope and the parameters of a request.

Graph takes parameters in the query string, an urlencoded form or a multipart body (file uploads), and
answers errors as `{"error": {message, type, code, error_subcode?, fbtrace_id}}`. `GraphFake` is a fake's
common test controls (injected failures, processing delays, tokens), `MediaHost` serves the public media
URLs Meta downloads from, `connect_account` logs in to a fake as a user would, and `GraphConformance` is
the conformance kit with the checks where Meta's contract differs from the generic one.
"""

from __future__ import annotations

import collections
import hashlib
import io
import itertools
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ocma_core.errors import AuthExpired, RateLimited
from ocma_core.platforms import AccountContext, MediaItem, TokenSet
from ocma_core.testing import FakeRequest, FakeResponse, FakeServer
from ocma_core.testing.conformance import FakeControl, PlatformConformance, run

if TYPE_CHECKING:
    from ocma_core.platforms import Platform

#: What `GraphFake.fail_next` injects (see `FakeControl.fail_next`).
FAILURES = ("rate_limit", "auth", "server_error", "timeout_after_store")


def graph_error(
    message: str,
    code: int,
    subcode: int | None = None,
    status: int = 400,
    kind: str = "OAuthException",
    headers: dict[str, str] | None = None,
    **more: Any,
) -> FakeResponse:
    """Meta's error envelope."""
    error: dict[str, Any] = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(more)
    error["fbtrace_id"] = "A" + secrets.token_hex(8)
    return FakeResponse(status, {"error": error}, headers or {})


def multipart(request: FakeRequest) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """The fields and files (name -> (content type, bytes)) of a multipart/form-data body."""
    head = f"Content-Type: {request.header('content-type')}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.body)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        found = part.get_payload(decode=True)
        payload = found if isinstance(found, bytes) else b""
        if not isinstance(name, str):
            continue
        if part.get_param("filename", header="content-disposition"):
            files[name] = (part.get_content_type(), payload)
        else:
            fields[name] = payload.decode("utf-8")
    return fields, files


def params(request: FakeRequest) -> dict[str, str]:
    """Query, urlencoded-form and multipart fields of a request, merged (the body wins)."""
    merged = dict(request.query)
    kind = request.header("content-type")
    if kind.startswith("application/x-www-form-urlencoded"):
        merged.update(request.form())
    elif kind.startswith("multipart/form-data"):
        merged.update(multipart(request)[0])
    return merged


# ----- a fake's common test controls --------------------------------------------------------------------
@dataclass
class GraphToken:
    """A token a fake issued: its kind (e.g. "short", "long", "page"), issue and expiry times (epoch s)."""

    kind: str
    issued_at: float
    expires_at: float


class GraphFake(FakeServer):
    """A Graph fake's test controls: failure injection, processing delays, ids, and tokens minted and checked.

    Subclasses set `self.state` (with a `tokens` dict of value -> GraphToken), `token_prefix`, and answer an
    injected rate limit in `rate_limited()`.
    """

    token_prefix = "EAA"
    #: How late the answer to a publish comes with timeout_after_store (past the kit's client timeout).
    timeout_delay_s = 3.0
    state: Any

    def __init__(self, *, port: int = 0) -> None:
        super().__init__(port=port)
        self.injected: collections.deque[list[Any]] = collections.deque()  # [kind, retry_after_s, skip]
        self.processing: collections.deque[list[Any]] = collections.deque()  # [polls, error, skip]
        self._ids = itertools.count(int(time.time() * 1000) % 10**9 * 10**6)
        self._id_lock = threading.Lock()

    def fail_next(self, kind: str, *, retry_after_s: float = 30.0, skip: int = 0) -> None:
        """Fail a coming publish after `skip` succeed (one of FAILURES)."""
        if kind not in FAILURES:
            raise ValueError(kind)
        self.injected.append([kind, retry_after_s, skip])

    def process_next(self, *, polls: int = 2, error: str | None = None, skip: int = 0) -> None:
        """The next media container created (after `skip`) is IN_PROGRESS for `polls` status reads, then
        FINISHED — or ERROR with `error` as Meta's status text."""
        self.processing.append([polls, error, skip])

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
        """Every token is past its expiry (it can no longer be refreshed either)."""
        with self.lock:
            for token in self.state.tokens.values():
                token.expires_at = time.time() - 1

    def age_tokens(self, seconds: float) -> None:
        """Make every token `seconds` older (to allow a refresh)."""
        with self.lock:
            for token in self.state.tokens.values():
                token.issued_at -= seconds

    def next_id(self) -> str:
        """A new numeric object id."""
        with self._id_lock:
            return str(next(self._ids))

    def mint(self, kind: str, ttl_s: float) -> str:
        """A new token of `kind`, valid `ttl_s` seconds."""
        value = self.token_prefix + secrets.token_urlsafe(32)
        now = time.time()
        with self.lock:
            self.state.tokens[value] = GraphToken(kind, now, now + ttl_s)
        return value

    def caller(self, request: FakeRequest) -> GraphToken | FakeResponse:
        """The valid token of a request, or Meta's error."""
        value = params(request).get("access_token") or request.bearer() or ""
        token: GraphToken | None = self.state.tokens.get(value)
        if token is None:
            return graph_error("Invalid OAuth access token - Cannot parse access token", 190)
        if token.expires_at < time.time():
            return graph_error("Error validating access token: Session has expired.", 190, 463)
        return token

    def injected_now(self) -> tuple[FakeResponse | None, float]:
        """For a publish: the injected failure due now (Meta's answer to give instead, else None), and how
        late the answer of a stored publish comes (`timeout_delay_s` for timeout_after_store, else 0)."""
        injected = self.take(self.injected)
        if injected is None:
            return None, 0.0
        if injected[0] == "timeout_after_store":
            return None, self.timeout_delay_s
        return self.injected_failure(injected[0], injected[1]), 0.0

    def rate_limited(self, retry_after_s: float) -> FakeResponse:
        """The answer for an injected rate limit (override: each API words and scopes it its own way)."""
        raise NotImplementedError

    def injected_failure(self, kind: str, retry_after_s: float) -> FakeResponse | None:
        """The answer for an injected failure (None for timeout_after_store, which publishes first)."""
        if kind == "rate_limit":
            return self.rate_limited(retry_after_s)
        if kind == "auth":
            return graph_error("Error validating access token: Session has expired.", 190, 463)
        if kind == "server_error":
            return graph_error(
                "An unexpected error has occurred. Please retry your request later.",
                2,
                status=500,
                is_transient=True,
            )
        return None


# ----- public media and logging in -----------------------------------------------------------------------
class MediaHost(FakeServer):
    """Serves files at /media/<name> as OCMA's signed media URLs do (counting each download)."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, tuple[str, bytes]] = {}
        self.downloads: list[str] = []

        @self.route("GET", r"/media/(?P<name>[\w.-]+)")
        def serve(request: FakeRequest) -> FakeResponse:
            found = self.files.get(request.params["name"])
            if found is None:
                return FakeResponse(404, {"detail": "no such media"})
            self.downloads.append(request.params["name"])
            return FakeResponse(200, found[1], {"Content-Type": found[0]})

    def add(self, tmp: Path, kind: str = "image", alt: str = "") -> MediaItem:
        """A new file (a real JPEG, or a few bytes labelled video/mp4), served and described as a MediaItem."""
        from PIL import Image

        name = f"{secrets.token_hex(4)}.{'jpg' if kind == 'image' else 'mp4'}"
        if kind == "image":
            buffer = io.BytesIO()
            Image.new("RGB", (8, 8), "orange").save(buffer, "JPEG")
            data, mime = buffer.getvalue(), "image/jpeg"
        else:
            data, mime = b"\x00\x00\x00\x18ftypmp42" + secrets.token_bytes(64), "video/mp4"
        path = tmp / name
        path.write_bytes(data)
        self.files[name] = (mime, data)
        return MediaItem(
            path=path,
            mime_type=mime,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            alt_text=alt,
            public_url=f"{self.base_url}/media/{name}?exp=9999999999&sig=test",
        )


async def connect_account(
    platform: Platform,
    fake: FakeControl,
    redirect_uri: str,
    account_id: str,
    options: dict[str, str] | None = None,
) -> AccountContext:
    """Log in as the fake's user (with connect `options`) and return the account's context as the core builds it."""
    from ocma_core.oauth_client import authorize_url

    url = authorize_url(
        platform.oauth_client(options), state="state-1", redirect_uri=redirect_uri, verifier=None
    )
    code, _ = fake.authorize(url)
    tokens = await platform.exchange_code(code, None, redirect_uri, options)
    probe = AccountContext(
        account_id="", external_id="", handle="", tokens=tokens, settings=dict(tokens.extra)
    )
    profile = await platform.get_profile(probe)
    return AccountContext(
        account_id=account_id,
        external_id=profile.external_id,
        handle=profile.handle,
        tokens=tokens,
        settings={**tokens.extra, **profile.extra},
    )


# ----- the conformance kit, as Meta's contract has it ---------------------------------------------------
class GraphConformance(PlatformConformance):
    """`PlatformConformance` for a Graph platform: a 5xx on create may have stored the post (Unconfirmed),
    refresh as Meta does it, and rate limits announced in whole minutes."""

    server_errors_may_store = True
    rotates_refresh_tokens = False
    #: True when the long-lived token refreshes itself (Instagram and Threads logins); False for Facebook
    #: Login, which issues no refresh token at all
    long_lived_refresh = True
    #: What a refused refresh says to do (a regex the AuthExpired's message matches)
    login_again = "again"

    def test_refresh_rotates_token(self, kit_platform: Platform, tokens: TokenSet, fake: Any) -> None:
        """Meta refreshes only an unexpired long-lived token at least a day old (Facebook Login not at all): an
        expired session is AuthExpired, refresh says to log in again, and a new login works again."""
        ctx = self._ctx(kit_platform, tokens)
        if self.long_lived_refresh:
            fake.age_tokens(86_400 + 60)
            fresh = run(kit_platform.refresh(ctx))
            assert fresh.access_token != tokens.access_token and fresh.refresh_token == fresh.access_token
            ctx.tokens = fresh
            assert run(kit_platform.get_profile(ctx)).external_id == ctx.external_id
        else:
            assert tokens.refresh_token is None and tokens.expires_at is not None
        fake.expire_tokens()
        with pytest.raises(AuthExpired):
            run(kit_platform.get_profile(ctx))
        with pytest.raises(AuthExpired, match=self.login_again):
            run(kit_platform.refresh(ctx))
        if not self.long_lived_refresh:
            ctx.tokens = run(self._connect(kit_platform, fake))  # OAuth: no credentials
            assert run(kit_platform.get_profile(ctx)).external_id == ctx.external_id

    def test_rate_limited_carries_retry_time(
        self, kit_platform: Platform, ctx: AccountContext, fake: Any
    ) -> None:
        """Meta states the wait in whole minutes (`estimated_time_to_regain_access`), never in seconds and
        never in Retry-After: a 30-second wait is announced as 1 minute, and RateLimited carries that."""
        fake.fail_next("rate_limit", retry_after_s=30)
        before = datetime.now(UTC)
        with pytest.raises(RateLimited) as info:
            run(kit_platform.publish(ctx, self.content(self._text("429"))))
        assert before + timedelta(seconds=55) <= info.value.retry_at <= before + timedelta(seconds=70)
