"""Short-lived, single-use tickets for the WebSocket stream: browsers cannot set an Authorization header on a
WebSocket, so a page asks `POST /v1/stream/tickets` with its key and opens `/v1/stream?ticket=...`. A ticket
is the key's id and an expiry, encrypted with the installation's key; it acts as the key that made it (a key
revoked meanwhile makes its tickets useless) and is honoured once."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from hashlib import sha256

from sqlmodel import select

from ocma_core.context import Ocma
from ocma_core.db.models import ApiKey
from ocma_core.db.types import utcnow

TICKET_TTL = timedelta(seconds=60)
PREFIX = "wst_"
PURPOSE = "stream-ticket"


@dataclass(frozen=True)
class Ticket:
    """A ticket and when it stops working."""

    ticket: str
    expires_at: datetime


def issue(ocma: Ocma, key_id: str) -> Ticket:
    """A ticket acting as the API key `key_id` for TICKET_TTL."""
    expires = utcnow() + TICKET_TTL
    # `n` names this ticket whatever its spelling: the used-once record is kept by it, not by the ticket's text
    # (base64 decoding skips stray characters, so `T.` decrypts as `T`); `p` ties the ciphertext to this use.
    plain = json.dumps(
        {"k": key_id, "exp": expires.timestamp(), "n": secrets.token_urlsafe(16), "p": PURPOSE}
    )
    return Ticket(PREFIX + ocma.vault.encrypt(plain), expires)


def redeem(ocma: Ocma, ticket: str) -> ApiKey | None:
    """The active key a ticket stands for, once (None: forged, expired, used, or its key revoked)."""
    from ocma_core.errors import OcmaError
    from ocma_core.services.once import claim_once

    if not ticket.startswith(PREFIX) or len(ticket) > 1000:
        return None
    try:
        data = json.loads(ocma.vault.decrypt(ticket.removeprefix(PREFIX)))
        key_id, expires, nonce = str(data["k"]), float(data["exp"]), str(data["n"])
        if data.get("p") != PURPOSE:
            return None
    except (OcmaError, ValueError, KeyError, TypeError, AttributeError):
        return None
    left = expires - utcnow().timestamp()
    # Kept a minute past the expiry: replicas whose clocks differ a little still see it as used.
    if left <= 0 or not claim_once(ocma, "stream-ticket:" + sha256(nonce.encode()).hexdigest(), left + 60):
        return None
    with ocma.session() as session:
        record = session.exec(select(ApiKey).where(ApiKey.key_id == key_id)).first()
        if record is None or record.revoked_at is not None:
            return None
        session.expunge(record)
        return record
