"""What one webhook attempt's answer means: delivered, retry later (backoff, Retry-After), failed for good,
and the endpoint disabled with a `webhook.disabled` event when a delivery runs out of attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from ocma_core.db.event_models import Webhook, WebhookDelivery
from ocma_core.db.types import utcnow
from ocma_core.events import Event, dispatch, record

if TYPE_CHECKING:
    from ocma_core.context import Ocma

RETRYABLE_4XX = (408, 429)
MAX_RETRY_AFTER = timedelta(days=1)


def retryable(status: int | None, error: str | None) -> bool:
    """Network errors, timeouts, 5xx, 408 and 429 are tried again; a refused address and other 4xx are not."""
    if status is None:
        return not (error or "").startswith("refused:")
    return status >= 500 or status in RETRYABLE_4XX


@dataclass(frozen=True)
class Outcome:
    """One attempt's answer: HTTP status (None: no answer), first bytes, error, Retry-After, time taken."""

    delivery_id: str
    status: int | None
    answer: str
    error: str | None
    retry_after: float | None
    took_ms: int


def record_outcome(
    ocma: Ocma,
    delivery_id: str,
    status: int | None,
    answer: str,
    error: str | None,
    retry_after: float | None,
    took_ms: int,
) -> WebhookDelivery:
    """Store the attempt's answer on the delivery and decide what happens next."""
    [row] = record_outcomes(ocma, [Outcome(delivery_id, status, answer, error, retry_after, took_ms)])
    return row


def record_outcomes(
    ocma: Ocma, outcomes: list[Outcome], loaded: list[WebhookDelivery] | None = None
) -> list[WebhookDelivery]:
    """Store a round's answers in one transaction (each delivery's next step decided as record_outcome does):
    the deliveries are written in one batched UPDATE by id, their endpoints only where they change; the
    deliveries, in the order given. `loaded`: the deliveries as claimed (this sender holds them), so they are
    not read again."""
    from sqlalchemy import update
    from sqlmodel import col, select

    disabled: list[Event] = []
    with ocma.session() as session:
        ids = [o.delivery_id for o in outcomes]
        if loaded is None:
            loaded = list(session.exec(select(WebhookDelivery).where(col(WebhookDelivery.id).in_(ids))))
            session.expunge_all()
        rows = {r.id: r for r in loaded}
        hook_ids = {r.webhook_id for r in rows.values()}
        hooks = {h.id: h for h in session.exec(select(Webhook).where(col(Webhook.id).in_(hook_ids)))}
        for outcome in outcomes:
            row = rows[outcome.delivery_id]
            event = _apply(session, row, hooks[row.webhook_id], outcome)
            if event is not None:
                disabled.append(event)
        session.execute(update(WebhookDelivery), [_written(rows[i]) for i in ids])
        session.flush()
    for event in disabled:
        dispatch(event, ocma)
    return [rows[o.delivery_id] for o in outcomes]


_WRITTEN = (
    "status",
    "attempts",
    "next_attempt_at",
    "claimed_until",
    "last_attempt_at",
    "response_status",
    "response_ms",
    "response_body",
    "last_error",
    "delivered_at",
)


def _written(row: WebhookDelivery) -> dict[str, object]:
    """What an attempt changes on a delivery, keyed by id (for a batched UPDATE)."""
    return {"id": row.id, **{name: getattr(row, name) for name in _WRITTEN}}


def _apply(session: object, row: WebhookDelivery, hook: Webhook, outcome: Outcome) -> Event | None:
    """Update the delivery and its endpoint for one answer; the webhook.disabled event if it disabled it."""
    from ocma_core.webhook_delivery import RETRY_DELAYS

    now, status, error = utcnow(), outcome.status, outcome.error
    row.attempts += 1
    row.last_attempt_at, row.response_status, row.response_ms = now, status, outcome.took_ms
    row.response_body, row.claimed_until = outcome.answer, None
    row.last_error = error if error else (None if status and status < 300 else f"HTTP {status}")
    if status is not None and 200 <= status < 300:
        row.status, row.delivered_at, row.next_attempt_at = "delivered", now, None
        hook.failing_since = None
    elif retryable(status, error) and row.attempts <= len(RETRY_DELAYS) and row.kind != "webhook.ping":
        wait = timedelta(seconds=RETRY_DELAYS[row.attempts - 1])
        if outcome.retry_after is not None:
            wait = max(wait, min(timedelta(seconds=outcome.retry_after), MAX_RETRY_AFTER))
        row.next_attempt_at = now + wait
        hook.failing_since = hook.failing_since or now
    else:
        row.status, row.next_attempt_at = "failed", None
        hook.failing_since = hook.failing_since or now
        if retryable(status, error) and hook.enabled and row.kind != "webhook.ping":  # failed every retry
            return _disable(session, hook, row)
    return None


def _disable(session: object, hook: Webhook, row: WebhookDelivery) -> Event:
    from sqlmodel import Session

    assert isinstance(session, Session)
    reason = f"every attempt failed for delivery {row.id} (last: {row.last_error})"[:255]
    hook.enabled, hook.disabled_reason = False, reason
    payload = {
        "webhook_id": hook.id,
        "url": hook.url,
        "reason": reason,
        "attempts": row.attempts,
        "failing_since": hook.failing_since.isoformat() if hook.failing_since else None,
    }
    return record(session, Event("webhook.disabled", hook.workspace_id, payload))
