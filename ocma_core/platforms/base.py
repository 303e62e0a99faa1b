"""The Platform contract every platform plugin implements."""

from __future__ import annotations

import functools
import os
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ocma_core.errors import (
    AuthExpired,
    ConfigError,
    PlatformError,
    RateLimited,
    Rejected,
    Transient,
    Unconfirmed,
)
from ocma_core.logs import register_secret
from ocma_core.platforms.responses import _int, error_code, error_detail, parse_reset, retry_time
from ocma_core.platforms.types import (
    AccountContext,
    AuthKind,
    Capability,
    FoundPost,
    Limits,
    MetricsSnapshot,
    OAuthClient,
    PastPage,
    PostContent,
    Problem,
    Profile,
    PublishResult,
    RateLimitInfo,
    TextLimit,
    TokenSet,
    WebhookEvent,
)

if TYPE_CHECKING:
    import asyncio

    import httpx

    from ocma_core.crypto import Vault
    from ocma_core.platforms.threads import PostPart


@dataclass(frozen=True)
class RateBudget:
    """A documented limit: `limit` calls per `window_s` seconds, per account or per app."""

    bucket: str
    scope: str  # "account" or "app"
    limit: int
    window_s: float


MAX_HOST_CONCURRENCY = 1024  # the most calls in flight per host an operator may allow (as --concurrency)


def _parsed_url(url: str | httpx.URL) -> httpx.URL | str:
    """`url` parsed once per distinct address (httpx parses a string twice per request, ~30 µs); addresses
    with a query string are passed through as they are, so no token in one is kept here."""
    return url if not isinstance(url, str) or "?" in url else _parse_cached(url)


@functools.lru_cache(maxsize=1024)
def _parse_cached(url: str) -> httpx.URL:
    import httpx

    return httpx.URL(url)


class Platform:
    """Base class of a social platform integration; subclasses set the class attributes and override methods.

    Every network method is async and raises only the typed failures of `ocma_core.errors`
    (RateLimited, AuthExpired, Rejected, Transient, Unconfirmed).
    """

    name: ClassVar[str] = ""
    display_name: ClassVar[str] = ""
    auth_kind: ClassVar[AuthKind] = AuthKind.OAUTH2
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.PUBLISH_TEXT})
    limits: ClassVar[Limits] = Limits(text=TextLimit(max_length=500))
    default_api_base: ClassVar[str] = ""
    default_auth_base: ClassVar[str] = ""
    default_scopes: ClassVar[tuple[str, ...]] = ()
    rate_budgets: ClassVar[tuple[RateBudget, ...]] = ()
    # Calls in flight per host (see host_of) in each worker process; OCMA_<PLATFORM>_MAX_CONCURRENCY overrides it.
    max_concurrency: ClassVar[int] = 16
    # With Capability.IDEMPOTENT_PUBLISH: how long the platform remembers an idempotency key (None: for
    # good). After that the engine asks `find_published` instead of publishing again.
    idempotency_window_s: ClassVar[float | None] = None
    request_timeout_s: ClassVar[float] = 30.0  # read/write timeout (OCMA_<PLATFORM>_TIMEOUT_S)
    connect_timeout_s: ClassVar[float] = 5.0  # OCMA_<PLATFORM>_CONNECT_TIMEOUT_S, else OCMA_CONNECT_TIMEOUT_S
    # Fields a user supplies to connect without OAuth (name -> description), e.g. {"handle": ..., "app_password": ...}
    credential_fields: ClassVar[Mapping[str, str]] = {}
    # Which of the credential fields may be left out (e.g. Bluesky's own PDS URL).
    optional_credential_fields: ClassVar[frozenset[str]] = frozenset()
    # True when the platform downloads media from OCMA's signed public URL (Instagram, TikTok, Threads), so
    # OCMA_PUBLIC_URL must be reachable from the internet (`ocma doctor` warns when it is loopback).
    needs_public_media: ClassVar[bool] = False
    # Connection choices `oauth_client` and `exchange_code` accept in `options` (name -> description), e.g.
    # Mastodon's {"instance": "the server to connect"}; any other option is refused before the flow starts.
    connect_options: ClassVar[Mapping[str, str]] = {}
    # Settings a person may change on a connected account (name -> description), e.g. Pinterest's default
    # board: `apply_account_settings` checks new values with the platform, `account_settings_view` shows them.
    account_settings: ClassVar[Mapping[str, str]] = {}
    # The platform's own error codes (the body's "code", or "error" when a string) -> the failure they mean,
    # checked by raise_for_status before the HTTP status: e.g. {"10015": AuthExpired, "50035": Rejected}.
    error_codes: ClassVar[Mapping[str, type[PlatformError]]] = {}

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = dict(os.environ if env is None else env)
        self._clients: dict[int, httpx.AsyncClient] = {}
        self._loops: dict[int, weakref.ref[asyncio.AbstractEventLoop]] = {}  # the loop of each client
        timeout = self.setting("TIMEOUT_S")
        if timeout:
            self.request_timeout_s = float(timeout)  # type: ignore[misc]
        connect = self.setting("CONNECT_TIMEOUT_S") or self._env.get("OCMA_CONNECT_TIMEOUT_S")
        if connect:
            self.connect_timeout_s = float(connect)  # type: ignore[misc]
        cap = self.setting("MAX_CONCURRENCY")
        if cap:
            self.max_concurrency = self._cap_from(cap)  # type: ignore[misc]

    def _cap_from(self, value: str) -> int:
        """OCMA_<PLATFORM>_MAX_CONCURRENCY: the operator's own cap of calls in flight per host and process."""
        name = f"OCMA_{self.name.upper()}_MAX_CONCURRENCY"
        try:
            cap = int(value.strip())
        except ValueError:
            cap = 0
        if not 1 <= cap <= MAX_HOST_CONCURRENCY:
            raise ConfigError(
                f"{name} is {value!r}: it must be a whole number of calls from 1 to {MAX_HOST_CONCURRENCY}.",
                fix=f"Set {name} to the calls one host takes at a time, or unset it for the plugin's "
                f"{type(self).max_concurrency}.",
            )
        return cap

    # ----- configuration -------------------------------------------------------------------------
    def setting(self, key: str, default: str | None = None) -> str | None:
        """Read `OCMA_<PLATFORM>_<KEY>` from the environment."""
        return self._env.get(f"OCMA_{self.name.upper()}_{key.upper()}", default)

    @property
    def api_base(self) -> str:
        """Base URL of the platform API (`OCMA_<PLATFORM>_API_BASE` overrides it)."""
        return (self.setting("API_BASE") or self.default_api_base).rstrip("/")

    @property
    def auth_base(self) -> str:
        """Base URL of the platform's OAuth host (`OCMA_<PLATFORM>_AUTH_BASE` overrides it)."""
        return (self.setting("AUTH_BASE") or self.default_auth_base or self.api_base).rstrip("/")

    def host_of(self, settings: Mapping[str, Any]) -> str:
        """The server an account's calls go to, from its settings (e.g. its Mastodon instance or Bluesky PDS).

        The engine caps calls in flight per host (`max_concurrency`), so a slow or hanging server never holds
        up the accounts on other servers. Default: the API base.
        """
        return self.api_base

    def oauth_client(self, options: Mapping[str, str] | None = None) -> OAuthClient:
        """OAuth client settings; `options` are the connection choices named in `connect_options`.

        ConfigError when the platform's settings are incomplete."""
        raise ConfigError(f"{self.name} does not connect through OAuth.")

    def vault(self) -> Vault:
        """The vault for secrets a plugin keeps outside the accounts' tokens (e.g. an app registration cached
        in the data directory): the keys the core uses, resolved from this platform's environment. Keep its
        ciphertext in a JSON file directly in the data directory and `ocma keys rotate` re-encrypts it."""
        from ocma_core.crypto import vault_from_environment

        return vault_from_environment(self._env)

    def require_setting(self, key: str) -> str:
        """A required setting, or a ConfigError that names the variable."""
        value = self.setting(key)
        if not value:
            var = f"OCMA_{self.name.upper()}_{key.upper()}"
            from ocma_core.settings_files import SETTINGS_FILE, default_data_dir

            data_dir = os.environ.get("OCMA_DATA_DIR")
            where = (Path(data_dir).expanduser() if data_dir else default_data_dir()) / SETTINGS_FILE
            raise ConfigError(
                f"{self.display_name or self.name} is not configured: {var} is not set.",
                fix=f"Create an app on the platform and add {var}=... to {where} (or the environment), then "
                "restart `ocma serve`; the plugin's README says where to get it.",
            )
        return value

    # ----- authorisation -------------------------------------------------------------------------
    async def exchange_code(
        self,
        code: str,
        code_verifier: str | None,
        redirect_uri: str,
        options: Mapping[str, str] | None = None,
    ) -> TokenSet:
        """Exchange an authorisation code for tokens (default: RFC 6749 form POST).

        `options` are the connection choices given to `oauth_client` when the flow started."""
        from ocma_core.oauth_client import exchange_code

        return await exchange_code(self, code, code_verifier, redirect_uri, options)

    async def refresh(self, ctx: AccountContext) -> TokenSet:
        """Refresh the access token; the returned refresh token replaces the old one (it may rotate)."""
        from ocma_core.oauth_client import refresh_token

        return await refresh_token(self, ctx)

    async def apply_account_settings(self, ctx: AccountContext, values: Mapping[str, str]) -> dict[str, Any]:
        """Check new values of `account_settings` with the platform; what to store in the account's settings."""
        raise Rejected(f"{self.display_name or self.name} accounts have no settings to change.")

    def account_settings_view(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The account's changeable settings as a person reads them, with the choices there are (default: none)."""
        return {}

    async def revoke(self, ctx: AccountContext) -> None:
        """Revoke the account's tokens at the platform when it is disconnected (default: nothing to do)."""
        return None

    async def connect_with_credentials(self, fields: Mapping[str, str]) -> TokenSet:
        """Create a session from user-supplied credentials (app password, instance token)."""
        raise ConfigError(f"{self.name} connects through OAuth, not with credentials.")

    async def get_profile(self, ctx: AccountContext) -> Profile:
        """Who-am-I: the connected account's id and handle (every platform must implement it)."""
        raise TypeError(f"{type(self).__name__} must implement get_profile() (see docs/plugins.md).")

    # ----- content -------------------------------------------------------------------------------
    def validate(self, content: PostContent) -> list[Problem]:
        """Problems that would make the platform refuse this content; empty when it is publishable."""
        from ocma_core.platforms.validation import validate_against_limits

        return validate_against_limits(self, content)

    def validate_for_account(self, content: PostContent, settings: Mapping[str, Any]) -> list[Problem]:
        """Problems for one account (e.g. an instance's own length limit); default: validate(content)."""
        return self.validate(content)

    def destination(self, content: PostContent, settings: Mapping[str, Any]) -> dict[str, Any]:
        """What of the account's settings decides where or as what `content` goes out (e.g. Pinterest's
        default board), JSON-able; a post's approval covers it, so changing it asks for approval again.

        Default: nothing beyond the content itself."""
        return {}

    async def publish(self, ctx: AccountContext, content: PostContent) -> PublishResult:
        """Publish `content` (and its thread) as the account (every platform must implement it)."""
        raise TypeError(f"{type(self).__name__} must implement publish() (see docs/plugins.md).")

    async def check_pending(self, ctx: AccountContext, external_id: str) -> PublishResult:
        """Poll a publish the platform is still processing."""
        return PublishResult(external_id=external_id)

    async def check_pending_content(
        self, ctx: AccountContext, external_id: str, content: PostContent
    ) -> PublishResult:
        """Poll a pending publish knowing its content: for a platform that creates the post only once its media
        is processed (Pinterest's video pins). Overriding it makes the engine call it instead of `check_pending`;
        default: `check_pending`."""
        return await self.check_pending(ctx, external_id)

    async def find_published(
        self, ctx: AccountContext, content: PostContent, since: datetime
    ) -> FoundPost | None:
        """The parts of this content published since `since` (a read: it never posts); None when none is.

        For a thread, list each part found while it replies to the one before; the engine then posts the
        rest with `continue_thread`.
        """
        return None

    async def continue_thread(
        self, ctx: AccountContext, content: PostContent, found: FoundPost
    ) -> PublishResult:
        """Publish the parts of `content` after those in `found`, the first new one replying to the last found.

        The result lists every part's id, the found ones first. Platforms with Capability.THREADS and
        Capability.FIND_PUBLISHED implement it (usually both this and `publish` call `post_thread`).
        """
        raise Rejected(
            f"{self.display_name or self.name} cannot continue a thread: parts "
            f"{len(found.part_ids) + 1}-{len(content.all_parts())} of {len(content.all_parts())} are missing."
        )

    async def post_thread(
        self, ctx: AccountContext, content: PostContent, post_part: PostPart, found: FoundPost | None = None
    ) -> list[str]:
        """Post the parts of `content` not in `found` with `post_part(index, ids_before)`; every part's id.

        A failure after some part is out carries their ids (`exc.parts_out`), so the engine looks up what
        exists before it tries again; a part refused for good deletes the parts out again (a thread is
        published whole or not at all) and says so in the raised `Rejected`.
        """
        from ocma_core.platforms.threads import post_thread

        return await post_thread(self, ctx, content, post_part, found)

    async def delete(self, ctx: AccountContext, external_id: str) -> None:
        """Delete a published post."""
        raise Rejected(f"{self.name} does not support deleting posts through its API.")

    async def list_past_posts(
        self, ctx: AccountContext, since: datetime | None, cursor: str | None = None
    ) -> PastPage:
        """One page of the account's own posts published since `since` (for importing history)."""
        raise Rejected(f"{self.display_name or self.name} cannot list an account's past posts in OCMA yet.")

    async def post_metrics(self, ctx: AccountContext, external_id: str) -> MetricsSnapshot:
        """Current metrics of one published post."""
        raise Rejected(self.metrics_unavailable("post") + ".")

    async def account_metrics(self, ctx: AccountContext) -> MetricsSnapshot:
        """Current metrics of the account (followers and what else the platform gives)."""
        raise Rejected(self.metrics_unavailable("account") + ".")

    def metrics_unavailable(self, kind: str) -> str:
        """Why there are no `kind` ("post" or "account") metrics, said wherever a number would have been."""
        return f"{self.name} gives no {kind} metrics through its API"

    # ----- webhooks ------------------------------------------------------------------------------
    def webhook_challenge(self, params: Mapping[str, str]) -> tuple[int, dict[str, Any] | str] | None:
        """Answer a webhook handshake (CRC or challenge), or None if `params` is not one."""
        return None

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """True when a delivery's signature is valid."""
        return False

    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        """Events carried by one delivery."""
        return []

    def public_url(self, ctx: AccountContext, external_id: str) -> str | None:
        """The public URL of a post, when it can be built from its id."""
        return None

    # ----- HTTP helpers for subclasses -----------------------------------------------------------
    def trusted_hosts(self) -> frozenset[str]:
        """Hosts the operator configured (API and auth base): reached without the request-forgery checks.
        Every other host (a member's Mastodon instance or Bluesky PDS, an upload URL a platform returned)
        must resolve to public addresses only (`ocma_core.net`)."""
        from ocma_core.net import host_of

        return frozenset(h for h in (host_of(self.api_base), host_of(self.auth_base)) if h)

    def http(self) -> httpx.AsyncClient:
        """A pooled, guarded client bound to the running event loop (see `trusted_hosts`)."""
        import asyncio  # not at module level: `ocma --help` and other commands never load asyncio

        import httpx

        from ocma_core.net import guarded_async_client

        loop = asyncio.get_running_loop()
        loop_id = id(loop)
        self._forget_closed_loops()
        client = self._clients.get(loop_id)
        if client is None or client.is_closed:
            # No cap on connections here: the engine caps calls per host, and a pool shared by every host
            # would let hanging calls to one server starve the others. Connecting has its own, short timeout.
            limits = httpx.Limits(
                max_connections=None, max_keepalive_connections=max(self.max_concurrency, 10)
            )
            client = guarded_async_client(
                timeout_s=self.request_timeout_s, limits=limits, trusted_hosts=self.trusted_hosts()
            )
            client.timeout = httpx.Timeout(self.request_timeout_s, connect=self.connect_timeout_s)
            self._clients[loop_id] = client
            self._loops[loop_id] = weakref.ref(loop)
        return client

    def _forget_closed_loops(self) -> None:
        """Drop the clients of event loops that have ended (each `asyncio.run` makes a new one): kept, each would
        hold its loop and its open connections for the life of the process; dropped, the collected transport
        closes them (ocma_core.net.aio)."""
        for loop_id, ref in list(self._loops.items()):
            loop = ref()
            if loop is None or loop.is_closed():
                del self._loops[loop_id]
                self._clients.pop(loop_id, None)

    async def aclose(self) -> None:
        """Close the HTTP clients of the current loop."""
        import asyncio

        client = self._clients.pop(id(asyncio.get_running_loop()), None)
        if client is not None:
            await client.aclose()

    async def send(
        self,
        method: str,
        url: str,
        *,
        ctx: AccountContext | None = None,
        bucket: str = "",
        expect_effect: bool | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request and turn transport failures into typed failures.

        A timeout of a call that may have changed something (`expect_effect`, default: not GET)
        becomes Unconfirmed: the request may have landed. A refused connection never sent it: Transient.
        Rate-limit headers are recorded on `ctx.settings["_rate_limits"]`.
        """
        import httpx

        from ocma_core.net import FetchRefused

        effect = method.upper() not in ("GET", "HEAD") if expect_effect is None else expect_effect
        try:
            client = self.http()
            fetch = getattr(client, "fetch", client.request)  # the guarded client's short path
            response = await fetch(method, _parsed_url(url), **kwargs)
        except FetchRefused as exc:
            raise Rejected(
                f"{self.display_name or self.name}: {exc.message} {exc.fix or ''}".strip()
            ) from exc
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            from ocma_core.platforms.transport import describe_transport_error

            cause = describe_transport_error(exc, url)
            raise Transient(f"Could not reach {self.display_name or self.name}: {cause}.") from exc
        except httpx.TimeoutException as exc:
            if effect:
                raise Unconfirmed(
                    f"{self.display_name or self.name} did not answer in time: {exc!r}"
                ) from exc
            raise Transient(f"{self.display_name or self.name} timed out: {exc!r}") from exc
        except httpx.TransportError as exc:
            if effect:
                raise Unconfirmed(f"Connection to {self.name} broke mid-request: {exc!r}") from exc
            raise Transient(f"Connection to {self.name} broke: {exc!r}") from exc
        if ctx is not None:
            register_secret(ctx.tokens.access_token, ctx.tokens.refresh_token)
            info = self.read_rate_limit(response, bucket or f"{method.upper()} {url}")
            if info is not None:
                ctx.settings.setdefault("_rate_limits", []).append(info)
        return response

    def read_rate_limit(self, response: httpx.Response, bucket: str) -> RateLimitInfo | None:
        """Rate-limit state from common headers (`x-rate-limit-*`, `x-ratelimit-*`, `ratelimit-*`)."""
        h = response.headers
        for prefix in ("x-rate-limit-", "x-ratelimit-", "ratelimit-"):
            if f"{prefix}remaining" in h:
                return RateLimitInfo(
                    scope="account",
                    bucket=bucket,
                    limit=_int(h.get(f"{prefix}limit")),
                    remaining=_int(h.get(f"{prefix}remaining")),
                    reset_at=parse_reset(h.get(f"{prefix}reset")),
                )
        return None

    def raise_for_status(self, response: httpx.Response, *, effect: bool = True) -> None:
        """Map a non-2xx response onto the typed failures (subclasses refine with platform codes)."""
        status = response.status_code
        if status < 400:
            return
        detail = error_detail(response)
        failure = self.error_codes.get(error_code(response) or "")
        if failure is not None:
            name = self.display_name or self.name
            if failure is RateLimited:
                raise RateLimited(f"{name} rate limit reached: {detail}", retry_at=retry_time(response))
            raise failure(f"{name} refused the request ({status}): {detail}", status=status)
        if status == 429:
            raise RateLimited(
                f"{self.display_name or self.name} rate limit reached: {detail}",
                retry_at=retry_time(response),
                status=status,
            )
        if status == 401:
            raise AuthExpired(f"{self.display_name or self.name} refused the token: {detail}", status=status)
        if status >= 500:
            # A 5xx is assumed not to have stored anything; platforms that know better override.
            raise Transient(
                f"{self.display_name or self.name} server error {status}: {detail}", status=status
            )
        raise Rejected(
            f"{self.display_name or self.name} refused the request ({status}): {detail}", status=status
        )


__all__ = ["Platform", "RateBudget", "error_code", "error_detail", "parse_reset", "retry_time"]
