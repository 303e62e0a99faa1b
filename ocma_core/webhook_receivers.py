"""Inbound webhooks, one shape for every source: a `WebhookReceiver` served at `/webhooks/{name}`. Each platform
with Capability.WEBHOOKS has one, built by the core from its `webhook_challenge`, `verify_webhook` and
`parse_webhook` (ocma_core.services.platform_receiver); other systems' (payments, analytics) come from plugins
through the `register_webhook_receivers` hook. The route reads the raw body (capped) and hands it, with the
headers (lower-cased), to the receiver, which checks the signature on those exact bytes and records what it
carries, raising `WebhookRefused` to answer with a 4xx. A GET is the sender's verification handshake, answered
by the receiver's optional `challenge`.

    from ocma_core import hookimpl
    from ocma_core.app.web import WebhookReceiver, WebhookRefused

    @hookimpl
    def register_webhook_receivers(register):
        register(WebhookReceiver("stripe", handle, "Stripe events, verified with Stripe-Signature"))

A platform's name is its own: a plugin's receiver of that name is refused (reported in `ocma plugins`), so no
plugin can take, or swallow, a platform's deliveries.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ocma_core.plugin_registry import Registry

if TYPE_CHECKING:
    from ocma_core.context import Ocma

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
# What a refusal is counted as in ocma_webhook_deliveries_total{outcome}: a bounded set of labels.
OUTCOMES = frozenset({"refused", "bad_signature"})

Challenge = Callable[[Mapping[str, str]], tuple[int, dict[str, Any] | str] | None]


class WebhookRefused(Exception):
    """A delivery the receiver will not take: `status` (4xx; 503 when OCMA's configuration is at fault and the
    sender should retry later), why (sent back to the sender), and `outcome`, the metric label it is counted
    under ("bad_signature" for a signature that does not match, which the operator's alert watches; else
    "refused")."""

    def __init__(self, message: str, status: int = 400, outcome: str = "refused") -> None:
        super().__init__(message)
        self.message, self.status = message, status
        self.outcome = outcome if outcome in OUTCOMES else "refused"


@dataclass(frozen=True)
class WebhookReceiver:
    """A source of inbound webhooks at /webhooks/{name}.

    `handle(ocma, headers, body)` verifies and records one delivery (POST; it runs in a worker thread) and
    returns a small JSON-ready answer, with a true `"duplicate"` when the delivery was one already taken
    (counted as such); it raises WebhookRefused for a bad signature, a stale or malformed delivery.
    `challenge(query)`, when the sender verifies the URL with a GET (X's CRC, Meta's hub.challenge), answers it
    as `(status, JSON object or text)`, or None when the query is not a handshake (400); without it a GET is
    answered 405."""

    name: str
    handle: Callable[[Ocma, dict[str, str], bytes], dict[str, Any]]
    description: str = ""
    challenge: Challenge | None = None


def _accept(item: Any, plugin_name: str) -> WebhookReceiver:
    if not isinstance(item, WebhookReceiver):
        raise TypeError(f"register() takes a WebhookReceiver, got {item!r}")
    if not NAME.match(item.name):
        raise ValueError(
            f"receiver name {item.name!r} is not a short lower-case word (it is a URL path segment)"
        )
    if not callable(item.handle):
        raise ValueError(f"receiver {item.name!r}: handle is not callable")
    if item.challenge is not None and not callable(item.challenge):
        raise ValueError(f"receiver {item.name!r}: challenge is not callable")
    from ocma_core.registry import get_platforms

    if item.name in get_platforms():
        raise ValueError(
            f"/webhooks/{item.name} belongs to the platform {item.name!r}; give the receiver another name"
        )
    return item


def _platform_receivers() -> Iterator[WebhookReceiver]:
    from ocma_core.platforms import Capability
    from ocma_core.registry import get_platforms
    from ocma_core.services.platform_receiver import platform_receiver

    for platform in get_platforms().values():
        if Capability.WEBHOOKS in platform.capabilities:
            yield platform_receiver(platform)


def _owner(receiver: WebhookReceiver) -> str:
    from ocma_core.registry import PLATFORMS

    return PLATFORMS.owners().get(receiver.name, "ocma")


RECEIVERS: Registry[WebhookReceiver] = Registry(
    "register_webhook_receivers",
    "webhook receiver",
    _accept,
    builtin=_platform_receivers,
    builtin_plugin=_owner,
)


def receivers() -> dict[str, WebhookReceiver]:
    """Every receiver by name: each webhook-capable platform's, then the plugins'."""
    return RECEIVERS.items()
