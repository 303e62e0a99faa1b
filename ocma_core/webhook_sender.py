"""The HTTP side of outbound webhooks: one guarded async httpx client (its own connection pool) per endpoint
origin, kept across rounds on one event loop thread of this process, so connections and TLS sessions are reused
from one round to the next and many deliveries are in flight without a thread each. Every new connection still
goes through the request-forgery guard (ocma_core.net.transport: resolved, checked, connected to the checked
address). Each POST has per-phase timeouts (TIMEOUT_S) and an overall DEADLINE_S, so a receiver that dribbles
its answer a byte at a time cannot hold a sender longer than that.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import httpx

    from ocma_core.net.policy import FetchPolicy

TIMEOUT_S = 10.0  # each phase: connect, write, each read
DEADLINE_S = 15.0  # the whole attempt, connect to last byte kept (BATCH / SENDERS * it <= CLAIM)
READ_BACK = 1024  # bytes of the answer kept in the log
PER_ORIGIN = 8  # connections to one origin at once
MAX_ORIGINS = 64  # clients kept; the least recently used is closed past this
T = TypeVar("T")


@dataclass(frozen=True)
class Answer:
    """One POST's result: HTTP status (None: no answer), first bytes, error, Retry-After seconds."""

    status: int | None
    answer: str
    error: str | None
    retry_after: float | None


class _Senders:
    """The event loop thread and its clients (rebuilt in a forked child, where the thread does not exist)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.clients: OrderedDict[tuple[str, FetchPolicy], httpx.AsyncClient] = OrderedDict()
        self.thread = threading.Thread(target=self.loop.run_forever, name="ocma-webhooks", daemon=True)
        self.thread.start()

    def client(self, origin: str, policy: FetchPolicy) -> httpx.AsyncClient:
        """The origin's client under this policy (made on first use; called on the loop thread)."""
        import httpx

        from ocma_core.net.transport import GuardedAsyncTransport, shared_ssl_context

        key = (origin, policy)
        found = self.clients.get(key)
        if found is not None:
            self.clients.move_to_end(key)
            return found
        limits = httpx.Limits(max_connections=PER_ORIGIN, max_keepalive_connections=PER_ORIGIN)
        made = httpx.AsyncClient(
            transport=GuardedAsyncTransport(policy, limits, ssl_context=shared_ssl_context()),
            timeout=TIMEOUT_S,
            trust_env=False,
            follow_redirects=False,
        )
        self.clients[key] = made
        while len(self.clients) > MAX_ORIGINS:
            _, old = self.clients.popitem(last=False)
            self.loop.create_task(old.aclose())
        return made


_senders: _Senders | None = None
_lock = threading.Lock()


def _get() -> _Senders:
    global _senders
    with _lock:
        if _senders is None or _senders.pid != os.getpid() or not _senders.thread.is_alive():
            _senders = _Senders()
        return _senders


def run_on_senders(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on the senders' loop and wait for its result (from any other thread)."""
    return asyncio.run_coroutine_threadsafe(coro, _get().loop).result()


async def post(url: str, data: bytes, headers: dict[str, str], policy: FetchPolicy) -> Answer:
    """POST `data` to `url` through its origin's guarded client, within DEADLINE_S overall."""
    import httpx

    from ocma_core.net.policy import FetchRefused

    origin = str(httpx.URL(url).copy_with(path="/", query=None, fragment=None))
    client = _get().client(origin, policy)
    try:
        async with asyncio.timeout(DEADLINE_S):
            async with client.stream("POST", url, content=data, headers=headers) as response:
                answer = b""
                async for chunk in response.aiter_bytes():
                    answer += chunk
                    if len(answer) >= READ_BACK:
                        break
                retry = response.headers.get("retry-after", "")
                wait = float(retry) if retry.strip().isdigit() else None
                text = answer[:READ_BACK].decode("utf-8", "replace")
                return Answer(response.status_code, text, None, wait)
    except TimeoutError:
        why = f"timeout: no whole answer within the {DEADLINE_S:g} s deadline"
        return Answer(None, "", why, None)
    except FetchRefused as exc:
        return Answer(None, "", f"refused: {exc}", None)
    except Exception as exc:
        return Answer(None, "", f"{type(exc).__name__}: {exc}"[:500], None)
