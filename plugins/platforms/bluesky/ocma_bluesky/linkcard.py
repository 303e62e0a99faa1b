"""Link cards (app.bsky.embed.external): read a page's Open Graph title, description and image.

Bluesky does not build cards server-side: the client fetches the page and embeds what it found. Fetching
a user-supplied URL from a server is a request-forgery risk, so pages and thumbnails go through the core's
guarded fetcher (`ocma_core.net.fetch`): public addresses only unless the operator allows private ones
(OCMA_FETCH_ALLOW_PRIVATE, or OCMA_BLUESKY_LINK_CARD_ALLOW_PRIVATE for cards alone), a short timeout, a size
cap, at most three redirects, each re-checked, and thumbnails that must be images by their bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx

from ocma_core.net import Expect, Fetched, FetchRefused, fetch

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


async def fetch_limited(
    url: str, *, allow_private: bool, timeout_s: float, max_bytes: int, expect: Expect = "any"
) -> Fetched | None:
    """GET a URL through the core's guarded fetcher (checked redirects, caps); None when refused or not 200."""
    try:
        fetched = await fetch(
            url,
            expect=expect,
            allow_private=allow_private,
            timeout_s=timeout_s,
            max_bytes=max_bytes,
            max_redirects=MAX_REDIRECTS,
        )
    except (FetchRefused, httpx.HTTPError):
        return None
    return fetched if fetched.status == 200 else None


async def fetch_card(url: str, *, allow_private: bool, timeout_s: float = 5.0) -> LinkCard | None:
    """Fetch `url` and read its card metadata; None when it cannot be fetched or has no title."""
    fetched = await fetch_limited(
        url, allow_private=allow_private, timeout_s=timeout_s, max_bytes=MAX_PAGE_BYTES, expect="html"
    )
    if fetched is None:
        return None
    content_type = fetched.headers.get("content-type", "")
    charset = "utf-8"
    if "charset=" in content_type:
        charset = content_type.split("charset=", 1)[1].split(";")[0].strip() or "utf-8"
    try:
        html = fetched.body.decode(charset, errors="replace")
    except LookupError:
        html = fetched.body.decode("utf-8", errors="replace")
    card = parse_card(url, html)
    return card if card.title or card.description else None
