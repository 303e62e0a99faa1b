"""Response cache for identical AI requests: Redis when OCMA_REDIS_URL is set, else in-process, with a TTL.

The cache is an optimisation: when Redis does not answer, calls go to the provider as if nothing was cached.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from typing import Any, Protocol

log = logging.getLogger(__name__)

PREFIX = "ocma:ai-cache:"


class ResponseCache(Protocol):
    """Get and set JSON-able values by key, with expiry."""

    kind: str

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached value, or None."""

    def set(self, key: str, value: dict[str, Any], ttl_s: int) -> None:
        """Cache `value` for `ttl_s` seconds."""


class MemoryCache:
    """A bounded in-process LRU cache (the embedded fallback)."""

    kind = "embedded"

    def __init__(self, max_entries: int = 1000) -> None:
        self._items: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def get(self, key: str) -> dict[str, Any] | None:
        """The value unless expired."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] < time.monotonic():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[1]

    def set(self, key: str, value: dict[str, Any], ttl_s: int) -> None:
        """Store, evicting the least recently used entry when full."""
        with self._lock:
            self._items[key] = (time.monotonic() + ttl_s, value)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()


class RedisCache:
    """Entries shared by every process on one Redis (SET with EX)."""

    kind = "redis"

    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def get(self, key: str) -> dict[str, Any] | None:
        """The value, or None (also when Redis fails)."""
        try:
            raw = self._client.get(PREFIX + key)
        except Exception as exc:
            log.warning("AI cache: Redis get failed (%s); calling the provider", exc)
            return None
        if raw is None:
            return None
        value: dict[str, Any] = json.loads(raw)
        return value

    def set(self, key: str, value: dict[str, Any], ttl_s: int) -> None:
        """Store with expiry (a Redis failure is logged, never raised)."""
        try:
            self._client.set(PREFIX + key, json.dumps(value), ex=ttl_s)
        except Exception as exc:
            log.warning("AI cache: Redis set failed (%s)", exc)


_memory = MemoryCache()
_redis: dict[str, RedisCache] = {}
_lock = threading.Lock()


def get_cache(redis_url: str | None) -> ResponseCache:
    """The Redis cache for `redis_url`, else the process's embedded cache."""
    if not redis_url:
        return _memory
    with _lock:
        cache = _redis.get(redis_url)
        if cache is None:
            cache = _redis[redis_url] = RedisCache(redis_url)
        return cache


def cache_key(*parts: Any) -> str:
    """A stable key for a request (SHA-256 of its canonical JSON)."""
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
