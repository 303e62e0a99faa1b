"""Sending outbound webhooks: the log's events become delivery rows (the durable queue), which are sent
signed the Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA256>
of "id.timestamp.body"), retried with backoff for about a day on network errors, timeouts, 5xx, 408 and 429
(honouring Retry-After), never on other 4xx; an endpoint whose delivery runs out of attempts is disabled
with a `webhook.disabled` event. Every connection goes through the request-forgery guard (ocma_core.net):
loopback, private, link-local and metadata addresses are refused unless OCMA_WEBHOOKS_ALLOW_PRIVATE=1
(metadata addresses always), checked again at connect time.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import os
import socket
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, update
from sqlmodel import col, select

from ocma_core.db.event_models import Webhook, WebhookDelivery
from ocma_core.db.types import utcnow
from ocma_core.eventlog import behind, consume_batches, insert_for
from ocma_core.net.policy import FetchPolicy, FetchRefused, check_url
from ocma_core.webhook_outcome import Outcome
from ocma_core.webhook_sender import DEADLINE_S, SENDERS, Answer, post, send_all

if TYPE_CHECKING:
    from ocma_core.context import Ocma
    from ocma_core.events import Event

log = logging.getLogger(__name__)
ALLOW_PRIVATE_ENV = "OCMA_WEBHOOKS_ALLOW_PRIVATE"
# Seconds before each retry (Standard Webhooks' suggested schedule): 8 attempts over about 27 hours.
RETRY_DELAYS: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
BATCH = 64  # deliveries claimed per round
# A round sends BATCH deliveries SENDERS at a time, each within DEADLINE_S: 8 in a row per thread, 120 s when a
# receiver hangs. The claim must outlast that (with room for DNS, which the deadline does not bound), or another
# worker claims the rest while they are still being sent, and sends them again.
CLAIM = timedelta(seconds=math.ceil(BATCH / SENDERS) * DEADLINE_S + 30)


def allow_private() -> bool:
    """Whether the operator lets webhooks reach private and loopback addresses."""
    return (os.environ.get(ALLOW_PRIVATE_ENV) or "").strip().lower() in ("1", "true", "yes", "on")


def check_target(url: str) -> None:
    """Refuse a webhook URL that is not http(s) or resolves to an address the guard refuses (now)."""
    _, host, port = check_url(url)
    policy = FetchPolicy.from_env(allow_private=allow_private())
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as exc:
        raise FetchRefused(f"{host[:200]} cannot be resolved ({exc}).") from None
    for info in infos:
        policy.check_address(host, ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]), port)


@functools.lru_cache(maxsize=1024)
def _key(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret (decoded once per secret)."""
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` of "msg_id.timestamp.body" with the secret's key (after `whsec_`), as the
    Standard Webhooks specification says (tests check it against the spec's vector and the reference library)."""
    mac = hmac.new(_key(secret), b"%s.%d.%s" % (msg_id.encode(), timestamp, body), hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def body_of(event: Event) -> dict[str, Any]:
    """What a delivery of the event carries (Standard Webhooks' type/timestamp/data, plus id and seq)."""
    return {"type": event.kind, "timestamp": event.at.isoformat(), **event.as_dict()}


def expand(ocma: Ocma) -> int:
    """Turn events past the webhooks' cursor into delivery rows for each matching enabled endpoint."""
    made = 0
    for workspace_id in behind(ocma, "webhooks"):
        with ocma.session() as session:
            hooks = list(
                session.exec(select(Webhook).where(Webhook.workspace_id == workspace_id, Webhook.enabled))
            )
            for hook in hooks:
                session.expunge(hook)
        owe = functools.partial(_owe, ocma, hooks)
        made += consume_batches(ocma, "webhooks", workspace_id, owe, max_age=timedelta(days=1))
    return made


def _owe(ocma: Ocma, hooks: list[Webhook], events: list[Event]) -> None:
    """Store, in one statement, a delivery of each event for every endpoint that wants it (once: unique per
    endpoint and seq)."""
    rows = [
        _row(hook, event)
        for event in events
        for hook in hooks
        if not (hook.kinds and event.kind not in hook.kinds) and event.at >= hook.created_at
    ]
    if not rows:
        return
    with ocma.session() as session:
        session.execute(
            insert_for(session, WebhookDelivery)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["webhook_id", "event_seq"])
        )


def _row(hook: Webhook, event: Event) -> dict[str, Any]:
    row = WebhookDelivery(
        webhook_id=hook.id,
        workspace_id=hook.workspace_id,
        event_seq=event.seq,
        kind=event.kind,
        body=body_of(event),
        next_attempt_at=utcnow(),
    )
    return row.model_dump()


def _claim_due(ocma: Ocma, limit: int) -> list[WebhookDelivery]:
    """Claim up to `limit` due deliveries in one statement (rows another sender holds are skipped); the
    claimed rows, oldest due first."""
    now = utcnow()
    free = or_(col(WebhookDelivery.claimed_until).is_(None), col(WebhookDelivery.claimed_until) < now)
    due = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status == "pending", col(WebhookDelivery.next_attempt_at) <= now, free)
        .order_by(col(WebhookDelivery.next_attempt_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    with ocma.session() as session:
        mine = list(
            session.scalars(
                update(WebhookDelivery)
                .where(col(WebhookDelivery.id).in_(due))
                .values(claimed_until=now + CLAIM)
                .returning(WebhookDelivery)
                .execution_options(synchronize_session=False)
            )
        )
        session.expunge_all()
    return sorted(mine, key=lambda row: (row.next_attempt_at or now, row.id))


def run(ocma: Ocma) -> int:
    """One round: expand new events into deliveries, claim what is due (one statement), send it on the kept
    sender threads through each endpoint origin's kept guarded client (ocma_core.webhook_sender; order per
    endpoint is not promised), and store the answers in one transaction; how many were sent. A process that
    dies mid-round leaves its deliveries claimed for CLAIM, then sent again (same webhook-id)."""
    from ocma_core.webhook_outcome import record_outcomes

    expand(ocma)
    due = _with_hooks(ocma, _claim_due(ocma, BATCH))
    if not due:
        return 0
    policy = FetchPolicy.from_env(allow_private=allow_private())
    outcomes = send_all(
        [functools.partial(_timed, row, hook.url, secrets, policy) for row, hook, secrets in due]
    )
    record_outcomes(ocma, outcomes, loaded=[row for row, _, _ in due])
    return len(outcomes)


def _timed(row: WebhookDelivery, url: str, secrets: list[str], policy: FetchPolicy) -> Outcome:
    """One attempt of the delivery, as an Outcome (an unexpected failure is kept on the row, not raised)."""
    started = time.monotonic()
    try:
        got = _send(url, row.id, row.body, secrets, policy)
    except Exception as exc:  # _send answers every expected failure; this is a bug, kept on the row
        log.exception("webhook delivery %s failed unexpectedly", row.id)
        got = Answer(None, "", f"{type(exc).__name__}: {exc}"[:500], None)
    took = int((time.monotonic() - started) * 1000)
    return Outcome(row.id, got.status, got.answer, got.error, got.retry_after, took)


def _with_hooks(ocma: Ocma, rows: list[WebhookDelivery]) -> list[tuple[WebhookDelivery, Webhook, list[str]]]:
    """The deliveries (in the order given) with their endpoints and signing secrets."""
    if not rows:
        return []
    with ocma.session() as session:
        hook_ids = {r.webhook_id for r in rows}
        hooks = {h.id: h for h in session.exec(select(Webhook).where(col(Webhook.id).in_(hook_ids)))}
        session.expunge_all()
    secrets = {hook_id: _secrets(ocma, hook) for hook_id, hook in hooks.items()}
    return [(r, hooks[r.webhook_id], secrets[r.webhook_id]) for r in rows if r.webhook_id in hooks]


def _load(ocma: Ocma, ids: list[str]) -> list[tuple[WebhookDelivery, Webhook, list[str]]]:
    """The deliveries of these ids (in the order given) with their endpoints and signing secrets."""
    with ocma.session() as session:
        found = {
            r.id: r for r in session.exec(select(WebhookDelivery).where(col(WebhookDelivery.id).in_(ids)))
        }
        session.expunge_all()
    return _with_hooks(ocma, [found[i] for i in ids if i in found])


def _secrets(ocma: Ocma, hook: Webhook) -> list[str]:
    """The endpoint's secret, and the previous one during its overlap after a rotation."""
    found = [ocma.vault.decrypt(hook.secret_enc)]
    if hook.previous_secret_enc and hook.previous_until and hook.previous_until > utcnow():
        found.append(ocma.vault.decrypt(hook.previous_secret_enc))
    return found


def attempt(ocma: Ocma, delivery_id: str) -> WebhookDelivery:
    """Send one delivery now and record the answer (retry time, or disabling the endpoint at the end)."""
    from ocma_core.webhook_outcome import record_outcomes

    [(row, hook, secrets)] = _load(ocma, [delivery_id])
    policy = FetchPolicy.from_env(allow_private=allow_private())
    outcome = _timed(row, hook.url, secrets, policy)
    [stored] = record_outcomes(ocma, [outcome], loaded=[row])
    return stored


def _send(url: str, msg_id: str, body: dict[str, Any], secrets: list[str], policy: FetchPolicy) -> Answer:
    """POST the signed body (serialized once, signed once per secret)."""
    data = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    stamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": "OCMA-Webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": " ".join(sign(s, msg_id, stamp, data) for s in secrets),
    }
    try:
        check_url(url)
    except FetchRefused as exc:
        return Answer(None, "", f"refused: {exc}", None)
    return post(url, data, headers, policy)


def ping(ocma: Ocma, workspace_id: str, webhook_id: str) -> WebhookDelivery:
    """Send a signed `webhook.ping` to the endpoint now (whatever kinds it wants); its delivery row."""
    from ocma_core.services.webhooks import get_webhook

    hook = get_webhook(ocma, workspace_id, webhook_id)
    now = utcnow()
    row = WebhookDelivery(webhook_id=hook.id, workspace_id=workspace_id, kind="webhook.ping")
    row.body = {
        "type": "webhook.ping",
        "timestamp": now.isoformat(),
        "id": row.id,
        "kind": "webhook.ping",
        "workspace_id": workspace_id,
        "at": now.isoformat(),
        "data": {"webhook_id": hook.id},
    }
    row.claimed_until = now + CLAIM
    with ocma.session() as session:
        session.add(row)
    return attempt(ocma, row.id)
