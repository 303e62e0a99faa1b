"""Naming what went wrong on the wire: a DNS failure, a refused connection, a timeout, a TLS problem."""

from __future__ import annotations

import socket
import ssl
from urllib.parse import urlsplit

_DNS_WORDS = (
    "name or service not known",
    "temporary failure in name resolution",
    "nodename nor servname",
    "no address associated",
    "getaddrinfo failed",
    "name resolution",
)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _cause(exc: BaseException, host: str, where: str) -> str:
    chain = _chain(exc)
    text = " ".join(str(e) for e in chain).lower()
    if any(isinstance(e, socket.gaierror) for e in chain) or any(w in text for w in _DNS_WORDS):
        return f"the DNS lookup of {host} failed; check the address and this machine's DNS"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "connection refused" in text:
        return f"the connection to {where} was refused — nothing listens there, or a firewall says no"
    if any(isinstance(e, ssl.SSLError) for e in chain) or "certificate" in text or "ssl" in text:
        return f"the TLS handshake with {host} failed"
    if type(exc).__name__ in ("ConnectTimeout", "TimeoutException") or "timed out" in text:
        return f"no connection to {where} within the time limit (network down, or the host is unreachable)"
    return f"the network failed reaching {where}"


def describe_transport_error(exc: BaseException, url: str) -> str:
    """One sentence naming the cause of a failed connection to `url`, with the low-level error after it."""
    parts = urlsplit(url)
    host = parts.hostname or url
    where = f"{host}:{parts.port}" if parts.port else host
    detail = str(exc) or repr(exc)
    return f"{_cause(exc, host, where)} ({type(exc).__name__}: {detail})"
