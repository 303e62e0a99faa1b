"""Which addresses a server-side fetch may reach (the request-forgery guard of `ocma_core.net`).

A URL that a workspace member, a platform, a model or a fetched page supplied is untrusted: it may point at the
server's own loopback, the private network, or a cloud metadata endpoint. Such a host is reached only when every
address it resolves to is public and the port is allowed, unless the operator said otherwise:

- OCMA_FETCH_ALLOW_PRIVATE=1 lets fetches reach private, loopback and link-local addresses on any port
  (trusted networks and tests with local fakes only); cloud metadata addresses stay refused;
- OCMA_FETCH_ALLOWED_PORTS adds ports (comma separated) to 80 and 443 for public addresses.
Hosts the operator configured (e.g. OCMA_X_API_BASE) are trusted by the caller that builds the client.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ocma_core.errors import ValidationFailed

ALLOW_PRIVATE_ENV = "OCMA_FETCH_ALLOW_PRIVATE"
ALLOWED_PORTS_ENV = "OCMA_FETCH_ALLOWED_PORTS"
DEFAULT_PORTS = frozenset({80, 443})
SCHEMES = frozenset({"http", "https"})
# Named for the documentation and the error message; each is also outside the global unicast space.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchRefused(ValidationFailed):
    """A server-side fetch was refused before or while connecting (address, port, scheme, size, type)."""


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class FetchPolicy:
    """What a guarded client may connect to."""

    allow_private: bool = False
    ports: frozenset[int] = DEFAULT_PORTS
    trusted_hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_env(
        cls, *, trusted_hosts: frozenset[str] = frozenset(), allow_private: bool = False
    ) -> FetchPolicy:
        """The operator's policy (OCMA_FETCH_ALLOW_PRIVATE, OCMA_FETCH_ALLOWED_PORTS), read now."""
        extra = set()
        for item in (os.environ.get(ALLOWED_PORTS_ENV) or "").split(","):
            if item.strip().isdigit():
                extra.add(int(item.strip()))
        return cls(
            allow_private=allow_private or _truthy(os.environ.get(ALLOW_PRIVATE_ENV)),
            ports=DEFAULT_PORTS | frozenset(extra),
            trusted_hosts=frozenset(h.lower() for h in trusted_hosts),
        )

    def is_trusted(self, host: str) -> bool:
        """True for a host the operator configured (checks are skipped for it)."""
        return host.lower().strip("[]") in self.trusted_hosts

    def check_address(self, host: str, address: Address, port: int) -> None:
        """Refuse a resolved address that is not public (unless allowed), or a public one on another port."""
        if address in METADATA_ADDRESSES:
            raise FetchRefused(
                f"{host} resolves to {address}, a cloud metadata address; OCMA never fetches it.",
                fix="Use a public URL.",
            )
        if not is_public(address):
            if self.allow_private:
                return
            raise FetchRefused(
                f"{host} resolves to {address}, not a public address; OCMA fetches public addresses only.",
                fix=f"Use a public URL, or set {ALLOW_PRIVATE_ENV}=1 (operator, trusted networks only).",
            )
        if port not in self.ports:
            raise FetchRefused(
                f"Port {port} of {host} is not allowed for server-side fetches.",
                fix=f"Use port 80 or 443, or add the port to {ALLOWED_PORTS_ENV} (operator).",
            )


def is_public(address: Address) -> bool:
    """True for a global unicast address (IPv4 inside IPv6 is judged as the IPv4 it carries)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public(embedded)
        if address.teredo is not None:
            return False
    return address.is_global and not address.is_multicast and address not in METADATA_ADDRESSES


def check_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL without credentials, or FetchRefused naming the problem."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FetchRefused(f"{url[:200]!r} is not a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or not parts.hostname:
        raise FetchRefused(f"Only http(s) URLs can be fetched, not {url[:200]!r}.")
    if parts.username is not None or parts.password is not None:
        raise FetchRefused("A URL with a user name or password in it is not fetched.", fix="Remove them.")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def host_of(url: str) -> str:
    """The lower-case host name of a URL ('' when it has none)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
