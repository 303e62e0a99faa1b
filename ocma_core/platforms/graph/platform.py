"""`GraphPlatform`, the base of a Platform on a Graph API, and the public media URL Meta downloads from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ocma_core.platforms.base import Platform
from ocma_core.platforms.graph.errors import raise_for_graph
from ocma_core.platforms.graph.usage import record_readings, usage_limits
from ocma_core.platforms.types import AccountContext, MediaItem

if TYPE_CHECKING:
    import httpx


class GraphPlatform(Platform):
    """A Platform on a Graph API: usage headers feed the budgets, errors map through `raise_for_graph`."""

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
