"""`ocma doctor`: does OCMA_PUBLIC_URL lead back to an OCMA server?

Checked from this machine (through DNS, TLS and any reverse proxy on the way), which is as close to "from
outside" as a command on the server can get: a URL that fails here fails for the platforms too, while one that
works here may still be blocked by a firewall in front of the proxy (the finding says so).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from ocma_core.context import Ocma
from ocma_core.services.doctor import _LOOPBACK, Finding

TIMEOUT_S = 5.0


def check_public_url_reachable(ocma: Ocma) -> Iterator[Finding]:
    """GET OCMA_PUBLIC_URL/healthz (not for a loopback address, which only this machine can reach anyway)."""
    public = ocma.settings.public_url.rstrip("/")
    host = public.split("://", 1)[-1].split("/", 1)[0]
    if host.startswith(_LOOPBACK):
        return
    url = f"{public}/healthz"
    fix = (
        "Check that `ocma serve` runs, and the DNS name, TLS certificate and reverse proxy in front of it; "
        "OAuth callbacks and platforms that download media use this address."
    )
    try:
        response = httpx.get(url, timeout=TIMEOUT_S, follow_redirects=False)
    except httpx.HTTPError as exc:
        yield Finding(
            "public_url_reachable", "warning", f"{url} did not answer from this machine: {exc}.", fix
        )
        return
    if (
        response.status_code != 200
        or response.headers.get("content-type", "").split(";")[0] != "application/json"
    ):
        yield Finding(
            "public_url_reachable",
            "warning",
            f"{url} answered {response.status_code}, not OCMA's health check (another server, or a proxy error).",
            fix,
        )
        return
    yield Finding(
        "public_url_reachable",
        "ok",
        f"{url} answers from this machine (a firewall in front of it can still block the platforms).",
    )
