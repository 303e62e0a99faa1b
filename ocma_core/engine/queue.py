"""The work queue: which targets are due when. Redis (many workers) or in-process (embedded).

The database is the source of truth; the queue only wakes workers at the right moment. Losing it loses
nothing: the reconciler refills it from the database.
"""

from __future__ import annotations

import heapq
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from ocma_core.engine.lua import LuaScript

if TYPE_CHECKING:
    from ocma_core.context import Ocma

DUE_KEY = "due"  # under the installation's namespace (engine/namespace.py)
# The queue holds only what comes due within this many seconds: a post scheduled next month costs no queue
# memory until then. The worker's reconciler pushes each target again well before it is due (worker.HORIZON
# is shorter than this and refreshed every FULL_PUSH_S), so nothing is late for being left out.
AHEAD_S = 120.0


def split_by_horizon(
    items: list[tuple[str, datetime]], now: float | None = None
) -> tuple[list[tuple[str, float]], list[str]]:
    """(id, due timestamp) of the items due within AHEAD_S, and the ids of those due later."""
    limit = (time.time() if now is None else now) + AHEAD_S
    near: list[tuple[str, float]] = []
    later: list[str] = []
    for target_id, due_at in items:
        score = due_at.timestamp()
        if score <= limit:
            near.append((target_id, score))
        else:
            later.append(target_id)
    return near, later


# Atomically take up to ARGV[2] members whose score (due time) is <= ARGV[1]; with them, the score of the
# earliest member left (false when none), so a worker can sleep until then.
_POP_DUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #ids > 0 then redis.call('ZREM', KEYS[1], unpack(ids)) end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {ids, first[2] or false}
"""


class WorkQueue(Protocol):
    """Due-time ordered set of target ids."""

    kind: str

    def push(self, target_id: str, due_at: datetime) -> None:
        """Wake a worker for `target_id` at `due_at` (replaces an earlier entry; one due later than AHEAD_S is
        dropped from the queue and left to the reconciler)."""

    def push_many(self, items: list[tuple[str, datetime]]) -> None:
        """push() for many targets at once."""

    def pop_due(self, limit: int) -> list[str]:
        """Take up to `limit` ids that are due now."""

    def take(self, limit: int) -> tuple[list[str], float | None]:
        """pop_due(), and the seconds until the earliest entry left is due (None when none is left)."""

    def depth(self) -> int:
        """Entries waiting (due or not)."""

    def ping(self) -> bool:
        """True when the queue answers."""

    def keep_namespace(self) -> None:
        """Renew this database's hold on its Redis namespace (ConfigError when another database took it)."""


class MemoryQueue:
    """In-process queue for the embedded mode (one process, no Redis)."""

    kind = "embedded"

    def __init__(self) -> None:
        self._heap: list[tuple[float, str]] = []
        self._score: dict[str, float] = {}
        self._lock = threading.Lock()

    def push(self, target_id: str, due_at: datetime) -> None:
        """Add or move an entry."""
        self.push_many([(target_id, due_at)])

    def push_many(self, items: list[tuple[str, datetime]]) -> None:
        """Add or move the entries due within AHEAD_S; drop those due later (the reconciler brings them back)."""
        near, later = split_by_horizon(items)
        with self._lock:
            for target_id in later:
                self._score.pop(target_id, None)
            for target_id, score in near:
                if self._score.get(target_id) == score:
                    continue  # already there: no second heap item (a re-push of the window adds nothing)
                self._score[target_id] = score
                heapq.heappush(self._heap, (score, target_id))
            if len(self._heap) > 2 * len(self._score) + 1024:  # superseded items: rebuild from the live ones
                self._heap = [(score, target_id) for target_id, score in self._score.items()]
                heapq.heapify(self._heap)

    def pop_due(self, limit: int) -> list[str]:
        """Take due entries, skipping superseded heap items."""
        return self.take(limit)[0]

    def take(self, limit: int) -> tuple[list[str], float | None]:
        """pop_due(), and the seconds until the earliest entry left."""
        now = time.time()
        out: list[str] = []
        with self._lock:
            while self._heap and len(out) < limit and self._heap[0][0] <= now:
                score, target_id = heapq.heappop(self._heap)
                if self._score.get(target_id) == score:
                    del self._score[target_id]
                    out.append(target_id)
            return out, self._next_locked(now)

    def _next_locked(self, now: float) -> float | None:
        while self._heap and self._score.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)  # superseded
        return max(self._heap[0][0] - now, 0.0) if self._heap else None

    def depth(self) -> int:
        """Live entries."""
        with self._lock:
            return len(self._score)

    def ping(self) -> bool:
        """Always answers."""
        return True

    def keep_namespace(self) -> None:
        """Nothing is shared: nothing to keep."""

    def clear(self) -> None:
        """Drop everything (tests use this to imitate a lost queue)."""
        with self._lock:
            self._heap.clear()
            self._score.clear()


class RedisQueue:
    """A Redis sorted set scored by due time, popped atomically by a Lua script."""

    kind = "redis"

    def __init__(self, url: str, prefix: str = "ocma:", fingerprint: str | None = None) -> None:
        import redis

        self.client = redis.Redis.from_url(
            url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30
        )
        self._pop = LuaScript(self.client, _POP_DUE)
        self.prefix, self.key, self.fingerprint = prefix, prefix + DUE_KEY, fingerprint
        self.keep_namespace()

    def keep_namespace(self) -> None:
        """Take or renew the namespace for this database (refused when another database owns it)."""
        if self.fingerprint is not None:
            from ocma_core.engine.namespace import claim

            claim(self.client, self.prefix, self.fingerprint)

    def push(self, target_id: str, due_at: datetime) -> None:
        """ZADD the target with its due time (ZREM when it is due later than AHEAD_S)."""
        self.push_many([(target_id, due_at)])

    def push_many(self, items: list[tuple[str, datetime]]) -> None:
        """ZADD those due within AHEAD_S, ZREM those due later (one round trip)."""
        near, later = split_by_horizon(items)
        if not near and not later:
            return
        pipe = self.client.pipeline(transaction=False)
        if near:
            pipe.zadd(self.key, dict(near))
        if later:
            pipe.zrem(self.key, *later)
        pipe.execute()

    def pop_due(self, limit: int) -> list[str]:
        """Atomically take due ids (two workers never get the same id from one entry)."""
        return self.take(limit)[0]

    def take(self, limit: int) -> tuple[list[str], float | None]:
        """pop_due(), and the seconds until the earliest entry left (one round trip)."""
        now = time.time()
        ids, first = self._pop(keys=[self.key], args=[now, limit])
        left = None if first is None else max(float(first) - now, 0.0)  # Lua false arrives as None
        return [i.decode() if isinstance(i, bytes) else str(i) for i in ids], left

    def depth(self) -> int:
        """ZCARD."""
        return int(self.client.zcard(self.key))

    def ping(self) -> bool:
        """PING."""
        return bool(self.client.ping())


_memory_queues: dict[str, MemoryQueue] = {}


def make_queue(ocma: Ocma) -> WorkQueue:
    """Redis (under this installation's namespace) when OCMA_REDIS_URL is set, else one in-process queue per
    database."""
    if ocma.settings.redis_url:
        from ocma_core.engine.namespace import database_fingerprint

        return RedisQueue(ocma.settings.redis_url, ocma.redis_namespace, database_fingerprint(ocma))
    key = ocma.settings.resolved_database_url
    queue = _memory_queues.get(key)
    if queue is None:
        queue = _memory_queues[key] = MemoryQueue()
    return queue
