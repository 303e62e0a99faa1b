"""`GraphPlatform`, the base of a Platform on a Graph API, and the public media URL Meta downloads from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ocma_core.errors import Unconfirmed
from ocma_core.platforms.base import Platform
from ocma_core.platforms.graph.errors import raise_for_graph
from ocma_core.platforms.graph.usage import record_readings, usage_limits
from ocma_core.platforms.graph.webhooks import hub_challenge, parse_webhook, verify_signature
from ocma_core.platforms.types import AccountContext, MediaItem, OAuthClient, WebhookEvent

if TYPE_CHECKING:
    import httpx


class GraphPlatform(Platform):
    """A Platform on a Graph API: usage headers feed the budgets, errors map through `raise_for_graph`.

    It also holds what Meta's APIs share: the app id and secret, versioned URLs and calls with the account's
    token (`graph_url`, `call`), Meta's login client, permalinks and the webhooks of `webhook_object`.
    """

    #: The API version of each URL (`graph_url`); OCMA_<NAME>_GRAPH_VERSION overrides it.
    default_version: ClassVar[str] = "v24.0"
    #: The `object` of the webhook deliveries that are this platform's: "page", "instagram", "threads".
    webhook_object: ClassVar[str] = ""

    # ----- configuration -------------------------------------------------------------------------
    @property
    def app_id(self) -> str:
        """The Meta app id (OCMA_<NAME>_APP_ID; Meta's app dashboard)."""
        return self.require_setting("APP_ID")

    @property
    def app_secret(self) -> str:
        """The Meta app secret (OCMA_<NAME>_APP_SECRET)."""
        return self.require_setting("APP_SECRET")

    @property
    def version(self) -> str:
        """The Graph API version: OCMA_<NAME>_GRAPH_VERSION (e.g. v24.0), else `default_version`."""
        value = self.setting("GRAPH_VERSION") or self.default_version
        return value if value.startswith("v") else f"v{value}"

    def scopes_setting(self, defaults: tuple[str, ...]) -> tuple[str, ...]:
        """The permissions to ask for: OCMA_<NAME>_SCOPES (comma- or space-separated), else `defaults`."""
        value = self.setting("SCOPES") or ",".join(defaults)
        return tuple(s for s in value.replace(" ", ",").split(",") if s)

    def meta_oauth_client(self, authorize_url: str, token_url: str, scopes: tuple[str, ...]) -> OAuthClient:
        """A Meta login: the app id and secret, no PKCE, comma-separated scopes."""
        return OAuthClient(
            authorize_url=authorize_url,
            token_url=token_url,
            client_id=self.app_id,
            client_secret=self.app_secret,
            scopes=scopes,
            pkce=False,
            scope_separator=",",
        )

    # ----- calls ---------------------------------------------------------------------------------
    def graph_url(self, path: str) -> str:
        """A versioned Graph URL."""
        return f"{self.api_base}/{self.version}/{path.lstrip('/')}"

    def auth_params(self, token: str, params: Mapping[str, str] | None = None) -> dict[str, str]:
        """Query parameters of a call with `token` (a plugin may add e.g. its `appsecret_proof`)."""
        return {**(params or {}), "access_token": token}

    async def call(
        self,
        method: str,
        path: str,
        ctx: AccountContext,
        *,
        bucket: str,
        creates: bool = False,
        params: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """One Graph call as the account; the JSON answer, or the typed failure (`creates`: it posts something)."""
        response = await self.send(
            method,
            self.graph_url(path),
            ctx=ctx,
            bucket=bucket,
            expect_effect=creates,
            params=self.auth_params(ctx.tokens.access_token, params),
            **kwargs,
        )
        self.raise_for_status(response, effect=creates)
        return response.json()

    async def permalink(self, ctx: AccountContext, object_id: str, bucket: str = "read") -> str | None:
        """A published object's `permalink` (a read after the fact: its failure leaves the post without a URL)."""
        try:
            body = await self.call("GET", object_id, ctx, bucket=bucket, params={"fields": "id,permalink"})
        except Exception:  # the post is out; its link is a nicety
            return None
        return str(body["permalink"]) if body.get("permalink") else None

    async def publish_container(self, ctx: AccountContext, path: str, container_id: str, what: str) -> str:
        """`POST /{path}?creation_id=` (e.g. `{user}/media_publish`): the id of `what` it published (Unconfirmed
        when the answer has none)."""
        answer = await self.call(
            "POST", path, ctx, bucket="publish", creates=True, data={"creation_id": container_id}
        )
        if not answer.get("id"):
            edge = path.rsplit("/", 1)[-1]
            raise Unconfirmed(f"{self.display_name or self.name} answered {edge} without {what}.")
        return str(answer["id"])

    # ----- webhooks ------------------------------------------------------------------------------
    def webhook_challenge(self, params: Mapping[str, str]) -> tuple[int, dict[str, Any] | str] | None:
        """Meta's verification GET, checked against OCMA_<NAME>_WEBHOOK_VERIFY_TOKEN."""
        return hub_challenge(params, self.setting("WEBHOOK_VERIFY_TOKEN"))

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """`X-Hub-Signature-256` against the app secret (OCMA_<NAME>_APP_SECRET)."""
        return verify_signature(self.setting("APP_SECRET"), headers, body)

    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        """The comments, mentions and other changes of this platform's deliveries (`webhook_object`)."""
        return [e for e in parse_webhook(body) if e.raw.get("object") == self.webhook_object]

    # ----- the Platform's calls, Graph's way ----------------------------------------------------------

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
        """`Platform.send`, recording every usage header reading (app and account) on `ctx`."""
        response = await super().send(method, url, expect_effect=expect_effect, **kwargs)
        if ctx is not None:
            record_readings(ctx, usage_limits(response.headers, bucket or f"{method.upper()} {url}"))
        return response

    def raise_for_status(self, response: httpx.Response, *, effect: bool = True) -> None:
        """Map a Graph error envelope onto the typed failures (`effect`: the call creates something)."""
        raise_for_graph(response, self.display_name or self.name, creates=effect)


# ----- public media ------------------------------------------------------------------------------------
def _loopback_or_private(host: str) -> bool:
    import ipaddress

    if host in ("localhost", "") or host.endswith(".localhost") or host.endswith(".local"):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # a name: Meta resolves it, and `ocma doctor` checks it from here
    return not address.is_global


def public_media_url(item: MediaItem, service: str, api_base: str) -> str:
    """The URL `service` downloads `item` from; ConfigError saying what to set when it cannot reach it.

    Meta fetches media from a URL and cannot receive an upload. OCMA hands it the media's signed URL under
    OCMA_PUBLIC_URL (`ocma serve` answers it from any media store, S3 included). A loopback or private
    address is refused up front, unless the API itself is on such an address (a proxy or test server on this
    network can reach it)."""
    from urllib.parse import urlsplit

    from ocma_core.errors import ConfigError

    url = item.public_url or ""
    if not url:
        raise ConfigError(
            f"{service} downloads media from a public URL, and this media item has none.",
            fix="Attach media uploaded to OCMA (it signs a public URL for each file).",
        )
    host = urlsplit(url).hostname or ""
    if _loopback_or_private(host) and not _loopback_or_private(urlsplit(api_base).hostname or ""):
        raise ConfigError(
            f"{service} must download the media from {urlsplit(url).scheme}://{host}, a loopback or private "
            "address its servers cannot reach.",
            fix="Set OCMA_PUBLIC_URL to the https address where this OCMA is reachable from the internet (a "
            "reverse proxy or tunnel in front of `ocma serve`), then check with `ocma doctor`.",
        )
    return url
