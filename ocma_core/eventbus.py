"""Wake-ups for live listeners (the SSE stream, webhook senders) when events are stored: in-process always,
and across processes through Redis pub/sub when OCMA_REDIS_URL is set. A wake-up only says "workspace W has
events up to seq N"; listeners read the events themselves from the stored log, so a lost message costs
latency (they also poll), never an event."""

from __future__ import annotations

import atexit
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ocma_core.context import Ocma

log = logging.getLogger(__name__)
_cond = threading.Condition()
_latest: dict[str, int] = {}
_listeners: dict[str, threading.Thread] = {}
_subscribed: dict[str, threading.Event] = {}
_clients: dict[str, Any] = {}
_wakers: list[Callable[[str, int], None]] = []


def notify(workspace_id: str, seq: int) -> None:
    """Note in this process that the workspace has events up to `seq`, waking every waiter."""
    with _cond:
        if seq > _latest.get(workspace_id, 0):
            _latest[workspace_id] = seq
        _cond.notify_all()
        wakers = list(_wakers)
    for wake in wakers:
        try:
            wake(workspace_id, seq)
        except Exception:  # a closed event loop: its listeners are gone
            log.debug("an event waker failed", exc_info=True)


def add_waker(wake: Callable[[str, int], None]) -> Callable[[], None]:
    """Call `wake(workspace_id, seq)` (from any thread; it must not block) on every notification; returns
    the function that stops it."""
    with _cond:
        _wakers.append(wake)

    def remove() -> None:
        with _cond:
            if wake in _wakers:
                _wakers.remove(wake)

    return remove


def wait(workspace_id: str, after: int, timeout: float) -> bool:
    """Block until the workspace is known to have an event past `after` or `timeout` passes."""
    with _cond:
        return _cond.wait_for(lambda: _latest.get(workspace_id, 0) > after, timeout)


def channel(ocma: Ocma) -> str:
    """The Redis channel of this installation's events."""
    return f"{ocma.redis_namespace}events"


def _client(url: str) -> Any:
    import redis

    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    return _clients[url]


def announce(ocma: Ocma, workspace_id: str, seq: int) -> None:
    """Tell listeners here (at once) and in every other process (within COALESCE_S, one message per workspace
    for all its events meanwhile) that the workspace has events up to `seq`."""
    notify(workspace_id, seq)
    url = ocma.settings.redis_url
    if not url:
        return
    global _flusher
    with _outbox_cond:
        batch = _outbox.setdefault((url, channel(ocma)), {})
        if seq > batch.get(workspace_id, 0):
            batch[workspace_id] = seq
        if _flusher is None or not _flusher.is_alive():  # first use, or a forked child
            _flusher = threading.Thread(target=_flush_forever, daemon=True, name="ocma-announce")
            _flusher.start()
        _outbox_cond.notify()


# Announcements waiting to go to Redis: (url, channel) -> {workspace: newest seq}. A burst of events of one
# workspace becomes one PUBLISH (a wake-up only says "look from your cursor"), not one per event.
COALESCE_S = 0.005
_outbox: dict[tuple[str, str], dict[str, int]] = {}
_outbox_cond = threading.Condition()
_flusher: threading.Thread | None = None


def _flush_forever() -> None:
    while True:
        with _outbox_cond:
            _outbox_cond.wait_for(lambda: bool(_outbox))
        time.sleep(COALESCE_S)  # let the burst gather
        flush()


def flush() -> None:
    """Send the waiting announcements now (also at exit, so a short-lived command's events are announced)."""
    with _outbox_cond:
        taken = dict(_outbox)
        _outbox.clear()
    for (url, name), batch in taken.items():
        try:
            pipe = _client(url).pipeline(transaction=False)
            for workspace_id, seq in batch.items():
                pipe.publish(name, json.dumps({"w": workspace_id, "s": seq}))
            pipe.execute()
        except Exception:  # listeners poll the log as well
            log.warning("could not announce events of %d workspace(s) on Redis", len(batch))


atexit.register(flush)


def listen(ocma: Ocma) -> threading.Event | None:
    """Start (once per process and Redis URL) a thread relaying other processes' announcements here; the
    returned flag is set once it is subscribed (None without Redis)."""
    url = ocma.settings.redis_url
    if not url:
        return None
    key = f"{url}|{channel(ocma)}"
    with _cond:
        if key in _listeners and _listeners[key].is_alive():
            return _subscribed[key]
        ready = _subscribed.setdefault(key, threading.Event())
        args = (url, channel(ocma), ready)
        thread = threading.Thread(target=_relay, args=args, daemon=True, name="ocma-eventbus")
        _listeners[key] = thread
    thread.start()
    return ready


def _relay(url: str, name: str, ready: threading.Event) -> None:
    """Forward announcements from Redis to this process's waiters; reconnect after a failure."""
    import time

    import redis

    while True:
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=5)
            pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            pubsub.subscribe(name)
            ready.set()
            for message in pubsub.listen():
                data = json.loads(message["data"])
                notify(str(data["w"]), int(data["s"]))
        except Exception:
            log.warning("event relay from Redis lost its connection; reconnecting", exc_info=True)
            time.sleep(1.0)


def latest(workspace_id: str) -> int:
    """The newest sequence id this process heard of for the workspace (0: none yet)."""
    return _latest.get(workspace_id, 0)
