"""Claim a key once across every OCMA process (API replicas, workers, restarts): first caller wins.

With `OCMA_REDIS_URL` the claim is Redis `SET ocma:<installation>:once:<key> NX PX ttl`; without Redis it is a
row in `onceclaim` (unique key, expiry), inserted with ON CONFLICT DO NOTHING. Expired rows are purged by later claims.
Use it to make a side effect happen once: a re-delivered webhook or chat event, a scheduled notice that
many workers see come due at the same moment.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete
from sqlmodel import SQLModel, col

from ocma_core.db.models import OnceClaim
from ocma_core.db.types import utcnow
from ocma_core.errors import ValidationFailed

if TYPE_CHECKING:
    from ocma_core.context import Ocma

MAX_KEY = 255
_clients: dict[str, Any] = {}
_lock = threading.Lock()


def claim_once(ocma: Ocma, key: str, ttl_s: float) -> bool:
    """True for the first caller to claim `key` within `ttl_s` seconds (in any process), False for repeats."""
    if not key or len(key) > MAX_KEY:
        raise ValidationFailed(f"A claim key must have 1 to {MAX_KEY} characters.")
    if ttl_s <= 0:
        raise ValidationFailed("A claim needs a positive lifetime (ttl_s > 0).")
    if ocma.settings.redis_url:
        return _claim_redis(ocma.settings.redis_url, ocma.redis_namespace + "once:" + key, ttl_s)
    return _claim_db(ocma, key, ttl_s)


def release_once(ocma: Ocma, key: str) -> None:
    """Give a claim back (the side effect it guarded failed, so a retry must be able to claim it again)."""
    if ocma.settings.redis_url:
        _redis(ocma.settings.redis_url).delete(ocma.redis_namespace + "once:" + key)
        return
    with ocma.session() as session:
        session.execute(delete(OnceClaim).where(col(OnceClaim.key) == key))


def _redis(url: str) -> Any:
    with _lock:
        client = _clients.get(url)
        if client is None:
            import redis

            client = _clients[url] = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        return client


def _claim_redis(url: str, key: str, ttl_s: float) -> bool:
    return bool(_redis(url).set(key, b"1", nx=True, px=max(1, int(ttl_s * 1000))))


def _claim_db(ocma: Ocma, key: str, ttl_s: float) -> bool:
    now = utcnow()
    table = SQLModel.metadata.tables["onceclaim"]
    statement = (
        _insert_for(ocma.engine.dialect.name)(table)
        .values(key=key, expires_at=now + timedelta(seconds=ttl_s), created_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(table.c.key)
    )
    with ocma.session() as session:
        # Purging every expired claim also frees this key if its earlier claim has expired.
        session.execute(delete(OnceClaim).where(col(OnceClaim.expires_at) <= now))
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT through SQLAlchemy.
        return session.execute(statement).first() is not None


def _insert_for(dialect: str) -> Any:
    """INSERT with ON CONFLICT DO NOTHING for the two databases OCMA runs on."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if dialect == "postgresql" else sqlite.insert
