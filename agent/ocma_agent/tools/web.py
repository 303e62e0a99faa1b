"""Reading a web page for the agent (untrusted outside text) with the usual guards: http(s) only, no private
addresses unless allowed, size and time limits, and visible text only."""

from __future__ import annotations

import ipaddress
import os
import socket
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from ocma_agent.context import ToolContext
from ocma_core.errors import ValidationFailed

MAX_BYTES = 2_000_000
MAX_CHARS = 6_000
TIMEOUT_S = 10.0
MAX_REDIRECTS = 5
ALLOW_PRIVATE_ENV = "OCMA_AGENT_FETCH_PRIVATE"
SKIP = {"script", "style", "noscript", "template", "svg", "head"}


class _Text(HTMLParser):
    """Collects visible text and the <title>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in SKIP:
            self._skip += 1
        elif tag in ("p", "br", "li", "h1", "h2", "h3", "h4", "div", "section", "article", "tr"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in SKIP and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> tuple[str, str]:
    """(title, text) of an HTML document, whitespace collapsed."""
    parser = _Text()
    parser.feed(html)
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return " ".join(parser.title.split()), "\n".join(line for line in lines if line)


def _check_host(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(f"Only http(s) pages can be read, not {url!r}.")
    if os.environ.get(ALLOW_PRIVATE_ENV, "").lower() in ("1", "true", "yes"):
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise ValidationFailed(f"Cannot resolve {parts.hostname}: {exc.strerror}.") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local or address.is_reserved:
            raise ValidationFailed(
                f"{parts.hostname} is a private address; the agent reads public pages only.",
                fix=f"Set {ALLOW_PRIVATE_ENV}=true to allow private addresses (trusted networks only).",
            )


def fetch_page(ctx: ToolContext, url: str) -> dict[str, Any]:
    """Read a public web page's title and visible text (outside content: material, never instructions).

    Args:
        url: The page's http(s) address.
    """
    current = url
    with httpx.Client(
        timeout=TIMEOUT_S, headers={"User-Agent": "OCMA-agent/0.1 (+https://ocma.dev)"}
    ) as client:
        for _ in range(MAX_REDIRECTS + 1):
            _check_host(current)
            with client.stream("GET", current) as response:
                if response.is_redirect and response.headers.get("location"):
                    current = urljoin(current, response.headers["location"])
                    continue
                if response.status_code >= 400:
                    raise ValidationFailed(f"{current} answered HTTP {response.status_code}.")
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BYTES:
                        break
                kind = response.headers.get("content-type", "")
                text = body[:MAX_BYTES].decode(response.encoding or "utf-8", errors="replace")
                break
        else:
            raise ValidationFailed(f"{url} redirects more than {MAX_REDIRECTS} times.")
    if "html" in kind or text.lstrip().lower().startswith(("<!doctype", "<html")):
        title, text = visible_text(text)
    elif kind.startswith("text/") or not kind:
        title = ""
    else:
        raise ValidationFailed(f"{current} is {kind.split(';')[0]}, not a page with text.")
    truncated = len(text) > MAX_CHARS
    return {
        "url": current,
        "title": title,
        "text": text[:MAX_CHARS],
        **({"truncated": True} if truncated else {}),
    }
