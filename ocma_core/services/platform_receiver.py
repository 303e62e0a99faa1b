"""A platform's webhooks as a WebhookReceiver, so `/webhooks/{name}` has one shape for platforms and plugins.

The core builds one for each platform with Capability.WEBHOOKS from the platform's three webhook methods:
`webhook_challenge` answers the GET handshake (X's CRC, LinkedIn's challenge, Meta's hub.challenge);
`verify_webhook` checks the signature on the raw bytes; `parse_webhook` reads the events, which are stored
as metric updates, conversation events, settled pending posts and revoked accounts. Each delivery is taken
once (a retry or a replay within REPLAY_WINDOW_S is answered as a duplicate), and released again when storing
it failed, so the platform's retry is taken rather than answered as a duplicate."""

from __future__ import annotations

import hashlib
from typing import Any

from ocma_core.context import Ocma
from ocma_core.platforms.base import Platform
from ocma_core.webhook_receivers import WebhookReceiver, WebhookRefused

REPLAY_WINDOW_S = 7 * 24 * 3600  # a delivery seen in the last week is not processed again


def platform_receiver(platform: Platform) -> WebhookReceiver:
    """The receiver at /webhooks/{platform.name}: the platform's handshake, signature check and events."""

    def handle(ocma: Ocma, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        return receive(ocma, platform, headers, body)

    shown = platform.display_name or platform.name
    return WebhookReceiver(
        platform.name,
        handle,
        f"{shown} webhooks: metric updates, comments and mentions, publish and authorization notices",
        challenge=platform.webhook_challenge,
    )


def receive(ocma: Ocma, platform: Platform, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """Verify one delivery's signature on `body`, then store what it carries, once."""
    from ocma_core.services import metrics
    from ocma_core.services.once import claim_once, release_once
    from ocma_core.services.webhook_events import record_conversation_events, revoked_accounts, settle_pending

    if not platform.verify_webhook(headers, body):
        raise WebhookRefused("Invalid webhook signature.", 401, outcome="bad_signature")
    once = f"webhook:{platform.name}:{hashlib.sha256(body).hexdigest()}"
    if not claim_once(ocma, once, REPLAY_WINDOW_S):
        return {"events": 0, "stored": 0, "duplicate": 1}  # a retry or a replay: stored once already
    try:
        events = platform.parse_webhook(body)
        stored = metrics.ingest_webhook(ocma, platform.name, events)
        record_conversation_events(ocma, platform.name, events)
        settle_pending(ocma, platform.name, events)
        revoked_accounts(ocma, platform.name, events)
    except Exception:
        # Not handled: the platform's retry must be taken, not answered as a duplicate.
        release_once(ocma, once)
        raise
    return {"events": len(events), "stored": stored}
