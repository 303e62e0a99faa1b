"""The engine's side of the thread contract: which parts exist, when to look, when a thread is whole."""

from __future__ import annotations

from datetime import datetime, timedelta

from ocma_core.platforms import Capability, FoundPost, Platform, PostContent, PublishResult

#: An idempotency key is trusted only while this much of the platform's window is left.
IDEMPOTENCY_MARGIN = timedelta(minutes=5)


def republish_is_safe(platform: Platform, unconfirmed_since: datetime | None, now: datetime) -> bool:
    """True when publishing again cannot duplicate: the platform deduplicates by key and still remembers it."""
    if Capability.IDEMPOTENT_PUBLISH not in platform.capabilities:
        return False
    window = platform.idempotency_window_s
    if window is None or unconfirmed_since is None:
        return True
    return now - unconfirmed_since < timedelta(seconds=window) - IDEMPOTENCY_MARGIN


def as_found(value: FoundPost | PublishResult | None) -> FoundPost | None:
    """A lookup's answer as a FoundPost (a plugin written before FoundPost returns a PublishResult)."""
    if value is None or isinstance(value, FoundPost):
        return value
    return FoundPost(part_ids=value.parts_out(), url=value.url, raw=dict(value.raw))


def shortfall(content: PostContent, result: PublishResult) -> str | None:
    """Why `result` is not the whole of `content` (a thread with parts missing), or None when it is."""
    wanted, got = len(content.all_parts()), len(result.parts_out())
    if got >= wanted:
        return None
    return (
        f"The platform reported {got} of the thread's {wanted} parts as published; "
        "checking which parts exist before posting the rest."
    )
