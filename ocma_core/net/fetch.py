"""The one way OCMA fetches a URL it did not configure itself: `fetch` (async) and `fetch_sync`.

Each hop (the URL, then every redirect, at most `max_redirects`) is checked by `policy.check_url` and connected
through the guarded transport; the body is streamed and cut off past `max_bytes`; the whole exchange is bounded
by `timeout_s`; a compressed body is inflated with the same bound (`ocma_core.net.inflate`); and with `expect` the content type is decided from the bytes (an "image" must be one by its magic
bytes, whatever the name or the Content-Type header claim).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urljoin

import anyio
import httpx

from ocma_core.media import sniff_mime
from ocma_core.net.inflate import ACCEPT_ENCODING, BoundedDecoder
from ocma_core.net.policy import FetchRefused, check_url
from ocma_core.net.transport import guarded_async_client, guarded_client

Expect = Literal["image", "html", "text", "any"]
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
DEFAULT_MAX_BYTES = 20_000_000
DEFAULT_TIMEOUT_S = 30.0
USER_AGENT = "OCMA/0.1 (+https://github.com/ocma)"


@dataclass(frozen=True)
class Fetched:
    """A fetched resource: the final URL, status, headers, body and its (sniffed) content type."""

    url: str
    status: int
    headers: httpx.Headers
    body: bytes
    content_type: str


def _content_type(url: str, headers: httpx.Headers, body: bytes, expect: Expect) -> str:
    declared = headers.get("content-type", "").split(";")[0].strip().lower()
    if expect == "image":
        sniffed = sniff_mime(body)
        if sniffed not in IMAGE_TYPES:
            raise FetchRefused(f"{url[:200]} is not an image (its bytes are {sniffed}).")
        return sniffed
    if expect == "html":
        head = body[:512].lstrip().lower()
        if "html" not in declared and not head.startswith((b"<!doctype html", b"<html")):
            raise FetchRefused(f"{url[:200]} is {declared or 'of unknown type'}, not an HTML page.")
        return "text/html"
    if expect == "text" and declared and not declared.startswith("text/") and "html" not in declared:
        raise FetchRefused(f"{url[:200]} is {declared}, not a page with text.")
    return declared or sniff_mime(body)


def _next_url(current: str, response: httpx.Response) -> str | None:
    location = response.headers.get("location")
    return urljoin(current, location) if response.is_redirect and location else None


def _too_large(url: str, max_bytes: int) -> FetchRefused:
    return FetchRefused(f"{url[:200]} is larger than {max_bytes} bytes; it was not read further.")


def _decoder(url: str, response: httpx.Response, max_bytes: int) -> BoundedDecoder:
    """Reads the raw body: httpx would inflate a whole chunk before the size check sees it."""
    return BoundedDecoder(response.headers.get("content-encoding", ""), max_bytes, url)


def _check_length(url: str, response: httpx.Response, max_bytes: int) -> None:
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise _too_large(url, max_bytes)


async def fetch(
    url: str,
    *,
    method: str = "GET",
    expect: Expect = "any",
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_redirects: int = 3,
    headers: dict[str, str] | None = None,
    allow_private: bool = False,
    **request: Any,
) -> Fetched:
    """Fetch an untrusted URL under the guard; FetchRefused for a refused hop, size or type."""
    current = url
    sent = {"User-Agent": USER_AGENT, **(headers or {}), "Accept-Encoding": ACCEPT_ENCODING}
    try:
        with anyio.fail_after(timeout_s):
            async with guarded_async_client(timeout_s=timeout_s, allow_private=allow_private) as client:
                for _ in range(max_redirects + 1):
                    check_url(current)
                    async with client.stream(method, current, headers=sent, **request) as response:
                        following = _next_url(current, response)
                        if following is not None:
                            current, method, request = following, "GET", {}
                            continue
                        _check_length(current, response, max_bytes)
                        body, decoder = bytearray(), _decoder(current, response, max_bytes)
                        async for raw in response.aiter_raw():
                            body += decoder.decode(raw)
                            if decoder.past_limit:
                                raise _too_large(current, max_bytes)
                        data = bytes(body)
                        kind = _content_type(current, response.headers, data, expect)
                        return Fetched(current, response.status_code, response.headers, data, kind)
    except TimeoutError:
        raise FetchRefused(f"{url[:200]} did not answer within {timeout_s:g} s.") from None
    raise FetchRefused(f"{url[:200]} redirects more than {max_redirects} times.")


async def check_endpoint(url: str) -> None:
    """Resolve an untrusted endpoint and check its addresses and port now (FetchRefused if refused).

    For clients OCMA does not build itself (litellm): the check is not pinned to their connection, so it
    narrows, but does not close, a DNS-rebinding window; OCMA's own clients use the guarded transport."""
    import ipaddress
    import socket

    from ocma_core.net.policy import FetchPolicy

    _, host, port = check_url(url)
    policy = FetchPolicy.from_env()
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise FetchRefused(f"{host} cannot be resolved ({exc}).") from None
    for info in infos:
        policy.check_address(host, ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]), port)


def fetch_sync(
    url: str,
    *,
    method: str = "GET",
    expect: Expect = "any",
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_redirects: int = 3,
    headers: dict[str, str] | None = None,
    allow_private: bool = False,
    truncate: bool = False,
    **request: Any,
) -> Fetched:
    """`fetch` for blocking code (each read and connect is bounded by `timeout_s`); with `truncate` a body
    past `max_bytes` is cut there instead of refused."""
    current = url
    sent = {"User-Agent": USER_AGENT, **(headers or {}), "Accept-Encoding": ACCEPT_ENCODING}
    with guarded_client(timeout_s=timeout_s, allow_private=allow_private) as client:
        for _ in range(max_redirects + 1):
            check_url(current)
            with client.stream(method, current, headers=sent, **request) as response:
                following = _next_url(current, response)
                if following is not None:
                    current, method, request = following, "GET", {}
                    continue
                if not truncate:
                    _check_length(current, response, max_bytes)
                body, decoder = bytearray(), _decoder(current, response, max_bytes)
                for raw in response.iter_raw():
                    body += decoder.decode(raw)
                    if decoder.past_limit:
                        if not truncate:
                            raise _too_large(current, max_bytes)
                        del body[max_bytes:]
                        break
                data = bytes(body)
                kind = _content_type(current, response.headers, data, expect)
                return Fetched(current, response.status_code, response.headers, data, kind)
    raise FetchRefused(f"{url[:200]} redirects more than {max_redirects} times.")
