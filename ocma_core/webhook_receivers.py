"""Inbound webhook receivers that are not platforms (payments, analytics, ...): a plugin registers a
`WebhookReceiver` through the `register_webhook_receivers` hook and OCMA serves it at `POST /webhooks/{name}`,
the same shape as the platforms' webhooks. The route reads the raw body (capped) and hands it, with the
headers (lower-cased), to the receiver, which checks the signature on those exact bytes and records what it
carries, raising `WebhookRefused` to answer with a 4xx.

    from ocma_core import hookimpl
    from ocma_core.app.web import WebhookReceiver, WebhookRefused

    @hookimpl
    def register_webhook_receivers(register):
        register(WebhookReceiver("stripe", handle, "Stripe events, verified with Stripe-Signature"))
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ocma_core.plugin_registry import Registry

if TYPE_CHECKING:
    from ocma_core.context import Ocma

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


class WebhookRefused(Exception):
    """A delivery the receiver will not take: `status` (4xx; 503 when OCMA's configuration is at fault and the
    sender should retry later) and why (sent back to the sender)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.status = message, status


@dataclass(frozen=True)
class WebhookReceiver:
    """A source of inbound webhooks at POST /webhooks/{name}.

    `handle(ocma, headers, body)` verifies and records one delivery (it runs in a worker thread) and returns
    a small JSON-ready answer; it raises WebhookRefused for a bad signature, a stale or malformed delivery."""

    name: str
    handle: Callable[[Ocma, dict[str, str], bytes], dict[str, Any]]
    description: str = ""


def _accept(item: Any, plugin_name: str) -> WebhookReceiver:
    if not isinstance(item, WebhookReceiver):
        raise TypeError(f"register() takes a WebhookReceiver, got {item!r}")
    if not NAME.match(item.name):
        raise ValueError(
            f"receiver name {item.name!r} is not a short lower-case word (it is a URL path segment)"
        )
    if not callable(item.handle):
        raise ValueError(f"receiver {item.name!r}: handle is not callable")
    return item


RECEIVERS: Registry[WebhookReceiver] = Registry("register_webhook_receivers", "webhook receiver", _accept)


def receivers() -> dict[str, WebhookReceiver]:
    """Every registered receiver by name."""
    return RECEIVERS.items()
