"""The HTTP side of outbound webhooks: one guarded httpx client (its own connection pool) per endpoint origin
and one pool of SENDERS threads, both kept across rounds for the life of the process, so connections and TLS
sessions are reused from one round to the next. Every new connection still goes through the request-forgery
guard (ocma_core.net.transport: resolved, checked, connected to the checked address). Each POST has per-phase
timeouts (TIMEOUT_S) and an overall DEADLINE_S, so a receiver that dribbles its answer a byte at a time cannot
hold a sender longer than that. (Blocking httpx costs about a third of the CPU of its async client per
request, which is why the sending is done in threads.)
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import httpx

    from ocma_core.net.policy import FetchPolicy

TIMEOUT_S = 10.0  # each phase: connect, write, each read
DEADLINE_S = 15.0  # the whole attempt, connect to last byte kept (webhook_delivery.CLAIM is sized by it)
READ_BACK = 1024  # bytes of the answer kept in the log
SENDERS = 8  # deliveries in flight at once per process (threads), also the connections kept per origin
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
    """The threads and the clients (made again in a forked child, which has no threads)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.pool = ThreadPoolExecutor(SENDERS, thread_name_prefix="ocma-webhooks")
        self.clients: OrderedDict[tuple[str, FetchPolicy], httpx.Client] = OrderedDict()
        self.lock = threading.Lock()

    def client(self, origin: str, policy: FetchPolicy) -> httpx.Client:
        """The origin's client under this policy (made on first use)."""
        import httpx

        from ocma_core.net.transport import GuardedSyncTransport, cookieless_jar, shared_ssl_context

        key = (origin, policy)
        with self.lock:
            found = self.clients.get(key)
            if found is not None:
                self.clients.move_to_end(key)
                return found
            limits = httpx.Limits(max_connections=SENDERS, max_keepalive_connections=SENDERS)
            made = httpx.Client(
                transport=GuardedSyncTransport(policy, limits, ssl_context=shared_ssl_context()),
                # A kept client serves every workspace's endpoints at its origin: no cookie crosses over.
                cookies=cookieless_jar(),
                timeout=TIMEOUT_S,
                trust_env=False,
                follow_redirects=False,
            )
            self.clients[key] = made
            while len(self.clients) > MAX_ORIGINS:
                self.clients.popitem(last=False)[1].close()
            return made


_senders: _Senders | None = None
_lock = threading.Lock()


def _get() -> _Senders:
    global _senders
    with _lock:
        if _senders is None or _senders.pid != os.getpid():
            _senders = _Senders()
        return _senders


def send_all(calls: list[Callable[[], T]]) -> list[T]:
    """Run the calls on the sender threads, SENDERS at once; their results in order."""
    return list(_get().pool.map(lambda call: call(), calls))


def _read_back(response: httpx.Response) -> bytes:
    """The first READ_BACK bytes of the answer, inflated no further than that (a compressed answer in an
    encoding OCMA does not read is not read: its status is what counts)."""
    from ocma_core.net.inflate import BoundedDecoder
    from ocma_core.net.policy import FetchRefused

    answer = b""
    try:
        decoder = BoundedDecoder(response.headers.get("content-encoding", ""), READ_BACK)
        for raw in response.iter_raw():
            answer += decoder.decode(raw)
            if len(answer) >= READ_BACK:
                break
    except FetchRefused:  # an encoding OCMA does not read, or a body that does not decode
        pass
    return answer


def post(url: str, data: bytes, headers: dict[str, str], policy: FetchPolicy) -> Answer:
    """POST `data` to `url` through its origin's guarded client, within DEADLINE_S overall."""
    import httpx

    from ocma_core.net.inflate import ACCEPT_ENCODING
    from ocma_core.net.policy import FetchRefused
    from ocma_core.net.transport import deadline

    parsed, end = httpx.URL(url), time.monotonic() + DEADLINE_S
    client = _get().client(f"{parsed.scheme}://{parsed.netloc.decode('ascii')}", policy)
    try:
        sent = {**headers, "Accept-Encoding": ACCEPT_ENCODING}
        with deadline(DEADLINE_S), client.stream("POST", url, content=data, headers=sent) as response:
            answer = _read_back(response)
            retry = response.headers.get("retry-after", "")
            wait = float(retry) if retry.strip().isdigit() else None
            return Answer(response.status_code, answer[:READ_BACK].decode("utf-8", "replace"), None, wait)
    except httpx.TimeoutException as exc:
        if time.monotonic() >= end - 0.05:  # the deadline cut the phase short
            return Answer(None, "", f"timeout: no whole answer within the {DEADLINE_S:g} s deadline", None)
        return Answer(None, "", f"timeout: {type(exc).__name__}: {exc}"[:500], None)
    except FetchRefused as exc:
        return Answer(None, "", f"refused: {exc}", None)
    except Exception as exc:
        return Answer(None, "", f"{type(exc).__name__}: {exc}"[:500], None)
