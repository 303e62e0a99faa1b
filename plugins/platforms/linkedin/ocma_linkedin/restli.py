"""Rest.li 2.0 helpers: URN checks and encoding, List(...) parameters, the headers every /rest call needs."""

from __future__ import annotations

import re
from urllib.parse import quote

#: Marketing API version used when OCMA_LINKEDIN_VERSION is not set. 202607 (July 2026) was the latest
#: version listed on learn.microsoft.com/linkedin/marketing/versioning when this plugin was written;
#: LinkedIn supports each monthly version for at least one year, then answers 426.
DEFAULT_VERSION = "202607"
PROTOCOL_VERSION = "2.0.0"

AUTHOR_URN = re.compile(r"^urn:li:(person|organization):([A-Za-z0-9_-]+)$")
POST_URN = re.compile(r"^urn:li:(share|ugcPost):([0-9]+)$")


def encode(urn: str) -> str:
    """A URN encoded for a Rest.li 2.0 path segment or query value (`:` becomes `%3A`)."""
    return quote(urn, safe="")


def restli_list(*urns: str) -> str:
    """A Rest.li 2.0 list parameter value: List(urn%3Ali%3A...,urn%3Ali%3A...)."""
    return "List(" + ",".join(encode(u) for u in urns) + ")"


def author_kind(urn: str) -> str | None:
    """ "person" or "organization" for an author URN, None when it is not one."""
    match = AUTHOR_URN.match(urn)
    return match.group(1) if match else None


def post_kind(urn: str) -> str | None:
    """ "share" or "ugcPost" for a post URN, None when it is not one."""
    match = POST_URN.match(urn)
    return match.group(1) if match else None


def rest_headers(token: str, version: str, *, method: str | None = None) -> dict[str, str]:
    """Headers for /rest/* calls: bearer token, LinkedIn-Version, Rest.li protocol (and method when given)."""
    headers = {
        "Authorization": f"Bearer {token}",
        "LinkedIn-Version": version,
        "X-Restli-Protocol-Version": PROTOCOL_VERSION,
    }
    if method:
        headers["X-RestLi-Method"] = method
    return headers
