"""Link cards (app.bsky.embed.external): read a page's Open Graph title, description and image.

Bluesky does not build cards server-side: the client fetches the page and embeds what it found. Fetching
a user-supplied URL from a server is a request-forgery risk, so only public addresses are fetched unless
OCMA_BLUESKY_LINK_CARD_ALLOW_PRIVATE=1 (tests pointing at a loopback fake set it), with a short timeout,
a size cap and at most three redirects, each re-checked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx

MAX_PAGE_BYTES = 1_000_000
MAX_REDIRECTS = 3


@dataclass
class LinkCard:
    """What a card shows: the link, its title and description, and an optional image URL."""

    uri: str
    title: str
    description: str
    image_url: str | None = None


class _MetaParser(HTMLParser):
    """Collects <meta> properties and the <title> of an HTML head."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag == "meta":
            key = (values.get("property") or values.get("name") or "").lower()
            if key and "content" in values and key not in self.meta:
                self.meta[key] = values["content"].strip()
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def parse_card(uri: str, html: str) -> LinkCard:
    """A card from a page's Open Graph / Twitter / plain HTML metadata."""
    parser = _MetaParser()
    parser.feed(html)
    meta = parser.meta
    title = meta.get("og:title") or meta.get("twitter:title") or parser.title.strip()
    description = meta.get("og:description") or meta.get("twitter:description") or meta.get("description", "")
    image = meta.get("og:image") or meta.get("twitter:image")
    return LinkCard(
        uri=uri, title=title, description=description, image_url=urljoin(uri, image) if image else None
    )


async def _check_public(url: str, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url}")
    if allow_private:
        return
    infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, parts.port, type=socket.SOCK_STREAM)
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise ValueError(f"{parts.hostname} resolves to a non-public address ({address})")


async def fetch_limited(
    client: httpx.AsyncClient, url: str, *, allow_private: bool, timeout_s: float, max_bytes: int
) -> tuple[str, bytes, str] | None:
    """GET a public URL (following checked redirects): (final URL, body, content type), or None."""
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        try:
            await _check_public(current, allow_private)
            async with client.stream("GET", current, timeout=timeout_s, follow_redirects=False) as response:
                if response.is_redirect and "location" in response.headers:
                    current = urljoin(current, response.headers["location"])
                    continue
                if response.status_code != 200:
                    return None
                body = b""
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        return None
                return current, body, response.headers.get("content-type", "")
        except (httpx.HTTPError, ValueError, OSError):
            return None
    return None


async def fetch_card(
    client: httpx.AsyncClient, url: str, *, allow_private: bool, timeout_s: float = 5.0
) -> LinkCard | None:
    """Fetch `url` and read its card metadata; None when it cannot be fetched or has no title."""
    fetched = await fetch_limited(
        client, url, allow_private=allow_private, timeout_s=timeout_s, max_bytes=MAX_PAGE_BYTES
    )
    if fetched is None or "html" not in fetched[2].lower():
        return None
    _, body, content_type = fetched
    charset = "utf-8"
    if "charset=" in content_type:
        charset = content_type.split("charset=", 1)[1].split(";")[0].strip() or "utf-8"
    try:
        html = body.decode(charset, errors="replace")
    except LookupError:
        html = body.decode("utf-8", errors="replace")
    card = parse_card(url, html)
    return card if card.title or card.description else None
