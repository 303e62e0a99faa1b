"""Background work besides publishing: metrics rounds, weekly reports, login-expiry checks, webhook deliveries,
and the rounds plugins add with the `register_background_jobs` hook (a `BackgroundJob` each).

Each kind is one job function (`run(kind)`). Where it runs:

- `OCMA_BACKGROUND=inline` (the default, and always without Redis): the publishing worker runs each round in
  its own process, at low priority (the embedded mode).
- `OCMA_BACKGROUND=rq` (needs `OCMA_REDIS_URL`): the publishing workers only *schedule* rounds, one per kind
  and period for the whole installation (a Redis lock), onto rq queues under the installation's namespace;
  `ocma jobs work` runs rq workers for them. Operators get rq's retries, its failed-job registry and its tools
  (`rq info --url URL <queue names from ocma jobs status>`); publishing never waits behind a report.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ocma_core.background_job import BackgroundJob
from ocma_core.plugin_registry import Registry

if TYPE_CHECKING:
    from redis import Redis
    from rq import Queue

    from ocma_core.context import Ocma

log = logging.getLogger(__name__)

METRICS_BATCH = 50  # posts and accounts one metrics round asks about
WEBHOOKS_S = 1.0  # how often events are expanded into webhook deliveries and what is due is sent
REPORT_CHECK_S = 60.0  # how often due weekly reports are looked for
RETRY_INTERVALS = [10, 60, 300]  # seconds before rq runs a failed round again


@dataclass(frozen=True)
class Kind:
    """One kind of background round: which queue it goes on and how often it is due."""

    queue: str  # "high" (time-sensitive: webhooks, expiring logins) or "low" (metrics, reports)
    period_s: Callable[[Ocma], float]  # 0: this kind is off
    work: Callable[[Ocma], object]


def _metrics(ocma: Ocma) -> object:
    from ocma_core.services.metrics import collect_due

    return asyncio.run(collect_due(ocma, limit=METRICS_BATCH, budgets=ocma.budgets))


def _reports(ocma: Ocma) -> object:
    from ocma_core.engine.weekly import emit_due_reports

    return emit_due_reports(ocma)


def _expiry(ocma: Ocma) -> object:
    from ocma_core.engine.expiry import check_expiring

    return check_expiring(ocma)


def _webhooks(ocma: Ocma) -> object:
    from ocma_core.webhook_delivery import run as deliver

    return deliver(ocma)


def _every(seconds: float) -> Callable[[Ocma], float]:
    return lambda _ocma: seconds


def _expiry_period(_ocma: Ocma) -> float:
    from ocma_core.engine.expiry import CHECK_S

    return CHECK_S


KINDS: dict[str, Kind] = {
    "metrics": Kind("low", lambda ocma: ocma.settings.metrics_interval_s, _metrics),
    "weekly_reports": Kind(
        "low", lambda ocma: 0.0 if ocma.settings.weekly_report_at == "off" else REPORT_CHECK_S, _reports
    ),
    "login_expiry": Kind("high", _expiry_period, _expiry),
    "webhooks": Kind("high", _every(WEBHOOKS_S), _webhooks),
}

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def _accept(job: Any, plugin_name: str) -> BackgroundJob:
    if not isinstance(job, BackgroundJob):
        raise TypeError(f"register() takes a BackgroundJob, got {job!r}")
    if not _NAME.match(job.name) or job.name in KINDS:
        raise ValueError(f"background job name {job.name!r} is not lower-case words joined by _ or is taken")
    if job.queue not in ("high", "low"):
        raise ValueError(f"background job {job.name!r}: queue is 'high' or 'low', not {job.queue!r}")
    if not job.period_s > 0:
        raise ValueError(f"background job {job.name!r}: period_s must be positive")
    return job


PLUGIN_JOBS: Registry[BackgroundJob] = Registry("register_background_jobs", "background job", _accept)


def plugin_jobs() -> dict[str, BackgroundJob]:
    """The rounds plugins added (register_background_jobs), by name."""
    return PLUGIN_JOBS.items()


def all_kinds() -> dict[str, Kind]:
    """Every kind of round: the core's, then those plugins added."""
    added = {job.name: Kind(job.queue, _every(job.period_s), job.work) for job in plugin_jobs().values()}
    return {**KINDS, **added}


_context: Ocma | None = None


def _ocma() -> Ocma:
    """The job process's OCMA context (built once per rq worker process from its settings)."""
    global _context
    if _context is None:
        from ocma_core.context import Ocma

        _context = Ocma()
    return _context


def run(kind: str) -> str:
    """Run one round of `kind` (the function rq calls); a short description of what it did."""
    known = all_kinds()
    if kind not in known:
        raise ValueError(f"unknown background job kind {kind!r}; known: {', '.join(known)}")
    result = known[kind].work(_ocma())
    return f"{kind}: {result!r}"[:500]


def uses_rq(ocma: Ocma) -> bool:
    """Whether background rounds go through rq (OCMA_BACKGROUND=rq with Redis configured)."""
    return ocma.settings.background == "rq" and bool(ocma.settings.redis_url)


def queue_name(ocma: Ocma, priority: str) -> str:
    """The rq queue of a priority, under this installation's Redis namespace."""
    return f"{ocma.redis_namespace}jobs-{priority}"


def _redis(ocma: Ocma) -> Redis:
    import redis

    assert ocma.settings.redis_url
    return redis.Redis.from_url(ocma.settings.redis_url, socket_timeout=5, socket_connect_timeout=5)


def queues(ocma: Ocma, connection: Redis | None = None) -> list[Queue]:
    """The installation's rq queues, high priority first (an rq worker empties it before the low one)."""
    from rq import Queue
    from rq.serializers import JSONSerializer

    conn = connection or _redis(ocma)
    # JSON, not rq's default pickle: a job is a kind's name, and nothing in Redis can become code to run.
    return [Queue(queue_name(ocma, p), connection=conn, serializer=JSONSerializer) for p in ("high", "low")]


class Scheduler:
    """Puts each kind's round on its rq queue once per period for the whole installation."""

    def __init__(self, ocma: Ocma) -> None:
        self.ocma = ocma
        self.connection = _redis(ocma)
        self._queues = {q.name: q for q in queues(ocma, self.connection)}
        self.enqueued: dict[str, int] = {kind: 0 for kind in all_kinds()}

    def tick(self, now: float) -> list[str]:
        """Enqueue every kind whose period started since its last round (any worker may call this)."""
        from rq import Retry

        done = []
        for name, kind in all_kinds().items():
            period = kind.period_s(self.ocma)
            if period <= 0:
                continue
            slot = int(now // period)
            lock = f"{self.ocma.redis_namespace}jobs-slot:{name}:{slot}"
            if not self.connection.set(lock, "1", nx=True, ex=max(int(period) * 2, 5)):
                continue  # another worker scheduled this period's round
            queue = self._queues[queue_name(self.ocma, kind.queue)]
            job_id = re.sub(
                r"[^A-Za-z0-9_-]", "-", f"{self.ocma.redis_namespace}round-{name}"
            )  # rq's id rule
            if self._pending(queue, job_id):
                continue  # the last round of this kind still waits or runs: never a pile of them
            queue.enqueue(
                run,
                name,
                job_id=job_id,
                job_timeout=max(int(period) * 10, 300),
                result_ttl=3600,
                failure_ttl=7 * 24 * 3600,
                retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
                description=f"ocma {name} round",
            )
            self.enqueued[name] = self.enqueued.get(name, 0) + 1
            done.append(name)
        return done

    @staticmethod
    def _pending(queue: Queue, job_id: str) -> bool:
        """Whether the job of that id is waiting, running or scheduled for a retry."""
        job = queue.fetch_job(job_id)
        return job is not None and job.get_status(refresh=False) in _PENDING


_PENDING = frozenset({"queued", "started", "scheduled", "deferred"})


def status(ocma: Ocma) -> dict[str, Any]:
    """Each queue's waiting, failed, started and finished jobs (what `ocma jobs status` shows)."""
    if not uses_rq(ocma):
        return {"mode": "inline", "queues": []}
    found = []
    for queue in queues(ocma):
        found.append(
            {
                "name": queue.name,
                "waiting": queue.count,
                "started": queue.started_job_registry.count,
                "failed": queue.failed_job_registry.count,
                "finished": queue.finished_job_registry.count,
            }
        )
    return {"mode": "rq", "queues": found}


def work(ocma: Ocma, burst: bool = False) -> None:
    """Run an rq worker on the installation's queues (`ocma jobs work`); `burst` stops when they are empty."""
    from rq import SimpleWorker

    global _context
    _context = ocma  # jobs run in this process (no fork per job): one context, its pools and clients reused
    connection = _redis(ocma)
    from rq.serializers import JSONSerializer

    worker = SimpleWorker(queues(ocma, connection), connection=connection, serializer=JSONSerializer)
    worker.work(burst=burst, logging_level="WARNING")
