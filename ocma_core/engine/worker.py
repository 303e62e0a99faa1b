"""The worker loop: pop due targets, publish many at once, heartbeat, reconcile the queue with the database."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col

from ocma_core import jobs
from ocma_core.api.metrics import QUEUE_DEPTH
from ocma_core.background_job import BackgroundJob
from ocma_core.context import Ocma
from ocma_core.db.models import Target, TargetStatus, WorkerHeartbeat
from ocma_core.db.types import utcnow
from ocma_core.engine import transitions
from ocma_core.engine.publisher import publish_claimed
from ocma_core.engine.runtime import Runtime
from ocma_core.observe import tracing, work
from ocma_core.observe.instruments import HEARTBEAT_FAILURES, HEARTBEATS, LAST_HEARTBEAT

log = logging.getLogger(__name__)
POLL_S = 0.02
# The shortest nap: a queue that reported a due entry it did not hand out must not make the loop spin.
MIN_NAP_S = 0.001
IDLE_POLL_S = 0.2  # the longest wait between looks at an empty queue (a due post waits at most this long)
RECONCILE_S = 1.0
HORIZON = timedelta(seconds=60)  # twice FULL_PUSH_S: each target is pushed at least 30 s before it is due
FULL_PUSH_S = 30.0  # the due window is pushed again at least this often, even when the queue looks whole
SHORTFALL_PUSH_S = 5.0  # a queue short of a few entries of the window is refilled at most this often
# One definition of each round's size and period, whether it runs here (inline) or as an rq job.
METRICS_BATCH, WEBHOOKS_S, REPORT_CHECK_S = jobs.METRICS_BATCH, jobs.WEBHOOKS_S, jobs.REPORT_CHECK_S


def new_worker_id(kind: str = "worker") -> str:
    """host:pid:kind:random — unique per process."""
    return f"{socket.gethostname()}:{os.getpid()}:{kind}:{os.urandom(3).hex()}"


def nap_length(idle: float, next_in: float | None) -> float:
    """How long the loop waits when nothing more is due: the idle back-off (POLL_S up to IDLE_POLL_S), cut
    short to wake when the queue's next entry falls due, so a post due while the worker idles starts on time."""
    wait = max(idle, POLL_S)
    return wait if next_in is None else max(min(wait, next_in), MIN_NAP_S)


class Worker:
    """Runs up to `concurrency` publishes at once in one event loop."""

    def __init__(
        self,
        ocma: Ocma,
        *,
        concurrency: int | None = None,
        kind: str = "worker",
        claim_lease_s: float | None = None,
    ) -> None:
        self.ocma = ocma
        self.kind = kind
        tracing.configure(ocma.settings.tracing)
        self.concurrency = concurrency or ocma.settings.worker_concurrency
        from ocma_core.engine.budgets import make_budgets

        url = ocma.settings.redis_url
        self.runtime = Runtime(
            worker_id=new_worker_id(kind),
            max_attempts=ocma.settings.publish_max_attempts,
            budgets=make_budgets(url, prefix=ocma.redis_namespace) if url else make_budgets(None),
        )
        lease = claim_lease_s or ocma.settings.claim_lease_s
        self.claim_lease = timedelta(seconds=max(lease, ocma.settings.worker_heartbeat_s * 3))
        self.runtime.claim_lease_s = self.claim_lease.total_seconds()
        self.tasks: set[asyncio.Task[str]] = set()
        self._metrics_task: asyncio.Task[None] | None = None
        self._last_metrics = time.monotonic()  # the first round waits one interval after start-up
        self._report_task: asyncio.Task[None] | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._last_webhooks = 0.0
        self._last_report_check: float | None = None
        self._reports_seen: set[str] = set()
        self._expiry_task: asyncio.Task[None] | None = None
        self._last_expiry_check: float | None = None
        self.report_checks = 0  # weekly-report rounds finished
        self.reports_emitted = 0  # report.weekly events this worker emitted
        self.done = 0
        self._last_full_push: float | None = None
        self._jobs = jobs.Scheduler(ocma) if jobs.uses_rq(ocma) else None  # OCMA_BACKGROUND=rq
        self._jobs_task: asyncio.Task[None] | None = None
        self._plugin_tasks: dict[str, asyncio.Task[None]] = {}  # register_background_jobs rounds, inline
        self._plugin_last: dict[str, float] = {}
        self._last_jobs = 0.0
        self._stop = asyncio.Event()
        self._idle = 0.0  # the current wait between looks at an empty queue
        self._wake = asyncio.Event()  # set by stop(), by a batch of free slots, or by the end of a nap
        # While all slots are busy, claims wait for this many free ones: claims batched, not one per ended task.
        self._min_batch = max(1, min(8, self.concurrency // 8))
        # Claimed targets kept waiting for the hosts' call slots, at most about twice this (see _claimable).
        self._keep_unsent = max(4, self._min_batch)
        self.runtime.on_fewer_unsent = self._fewer_unsent
        self._started = utcnow()

    def stop(self) -> None:
        """Ask the loop to finish (in-flight publishes complete first)."""
        self._stop.set()
        self._wake.set()

    def _task_ended(self, task: asyncio.Task[str]) -> None:
        self.tasks.discard(task)
        if self.concurrency - len(self.tasks) == self._min_batch:  # a batch of slots is free: claim now
            self._wake.set()

    def _fewer_unsent(self, awaiting: int) -> None:
        if awaiting == self._keep_unsent - 1:  # few claimed targets are left waiting for a host: claim more
            self._wake.set()

    def _claimable(self) -> int:
        """How many targets to claim now: free task slots, but only while fewer than _keep_unsent claimed ones
        wait for a host's call slot, and no more than twice that waiting after. Claims beyond that would only
        wait in this process (a host takes max_concurrency calls at a time) while another worker's slots go
        idle, and start late."""
        free = self.concurrency - len(self.tasks)
        awaiting = len(self.runtime.unsent)
        if free < self._min_batch or awaiting >= self._keep_unsent:
            return 0
        return min(free, 2 * self._keep_unsent - awaiting)

    async def _nap(self, seconds: float = POLL_S) -> None:
        """Wait `seconds`, or less when stop() is called, a batch of slots comes free or few claimed targets
        are left waiting for a host (no task per wait)."""
        timer = asyncio.get_running_loop().call_later(seconds, self._wake.set)
        try:
            await self._wake.wait()
        finally:
            timer.cancel()
            self._wake.clear()

    def heartbeat(self) -> None:
        """Record that this worker polled, and renew the claims of its tasks in flight so they never look stale."""
        now = utcnow()
        with self.ocma.session() as session:
            beat = session.get(WorkerHeartbeat, self.runtime.worker_id)
            if beat is None:
                beat = WorkerHeartbeat(
                    id=self.runtime.worker_id,
                    hostname=socket.gethostname(),
                    pid=os.getpid(),
                    kind=self.kind,
                    started_at=self._started,
                )
            beat.last_seen, beat.jobs_done = now, self.done
            session.add(beat)
            # Only claims with a task in flight: a claim whose task ended without giving the target back
            # must go stale, so that recovery frees it.
            owned = self.runtime.claims_in_flight()
            if owned:
                session.execute(
                    update(Target)
                    .where(
                        col(Target.id).in_(owned),
                        col(Target.claimed_by) == self.runtime.worker_id,
                        col(Target.status) == TargetStatus.PUBLISHING,
                    )
                    .values(claimed_at=now)
                )

    def reconcile(self) -> None:
        """Refill the queue from the database and recover targets of workers that died mid-call.

        The due window is pushed again when the queue holds fewer entries than it (entries were lost: Redis
        restarted, the queue was cleared; see _short), and every FULL_PUSH_S anyway; not every second, which
        cost a backlog's worth of writes each second.
        """
        transitions.recover_stale_claims(self.ocma, self.claim_lease)
        within, due_now = transitions.due_counts(self.ocma, HORIZON)
        now = time.monotonic()
        since = None if self._last_full_push is None else now - self._last_full_push
        if within and (since is None or since >= FULL_PUSH_S or self._short(within, since)):
            self.ocma.queue.push_many(transitions.due_targets(self.ocma, HORIZON))
            self._last_full_push = now
        QUEUE_DEPTH.set(due_now)
        self._sweep_events()

    def _short(self, within: int, since: float) -> bool:
        """Whether the queue lacks entries of the due window. Ids popped but not yet claimed (by any worker) are
        missing for a moment during every burst, so a small shortfall is pushed again only every SHORTFALL_PUSH_S;
        a queue that lost most of its window (Redis restarted, the queue was cleared) is refilled at once."""
        depth = self.ocma.queue.depth()
        return depth < within and (depth * 2 < within or since >= SHORTFALL_PUSH_S)

    def _sweep_events(self) -> None:
        """Hand plugins the events a dead or busy process left in the log (at least once, by sequence id)."""
        from ocma_core.eventlog import sweep

        try:
            sweep(self.ocma)
        except Exception:
            log.exception("event delivery sweep failed")

    async def _run_one(self, claimed: transitions.Claimed) -> str:
        target_id = claimed.target.id
        try:
            with work.publishing(target_id, claimed.target.origin or {}, claimed.target.due_at):
                outcome = await publish_claimed(self.ocma, self.runtime, claimed)
                log.debug("target %s: %s", target_id, outcome)
        except Exception:
            log.exception("worker failed on target %s", target_id)
            outcome = "error"
        self.done += 1
        return outcome

    def _pop_and_claim(self, free: int) -> tuple[int, list[transitions.Claimed], float | None]:
        """Take up to `free` due ids from the queue and claim them at once (one statement on PostgreSQL), off
        the event loop; with them, when (time.monotonic()) the queue's next entry is due. Should the claim fail,
        the targets are still due in the database and the reconciler puts them back on the queue."""
        ids, next_in = self.ocma.queue.take(free)
        next_at = None if next_in is None else time.monotonic() + next_in  # the claim below takes time too
        try:
            claimed = transitions.claim_many(self.ocma, ids, self.runtime.worker_id) if ids else []
        except Exception:
            self.ocma.queue.push_many([(i, utcnow()) for i in ids])  # still due: back on the queue
            raise
        for one in claimed:
            self.runtime.track(one.target.id)  # renewed by the heartbeat from now on
        return len(ids), claimed, next_at

    def _beat_forever(self, stop: threading.Event) -> None:
        """Heartbeat on a thread of its own, so a busy event loop or thread pool never delays claim renewal."""
        while not stop.is_set():
            try:
                self.heartbeat()
                HEARTBEATS.labels(self.kind).inc()
                LAST_HEARTBEAT.labels(self.kind).set(time.time())
            except Exception:
                HEARTBEAT_FAILURES.labels(self.kind).inc()
                log.exception("heartbeat failed")
            try:
                self.ocma.queue.keep_namespace()
            except Exception:
                log.exception("could not keep this database's Redis namespace")
            stop.wait(self.ocma.settings.worker_heartbeat_s)

    async def run(self) -> None:
        """Loop until stop(); never dies on a database or queue hiccup."""
        from concurrent.futures import ThreadPoolExecutor

        # The threads doing database work share the process's pool (OCMA_DB_POOL_SIZE); one connection is
        # left for the heartbeat thread, so many publishes in flight never need more connections.
        threads = max(1, min(self.concurrency, self.ocma.settings.db_pool_size - 1))
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=threads))
        beat_stop = threading.Event()
        beater = threading.Thread(
            target=self._beat_forever, args=(beat_stop,), daemon=True, name="ocma-heartbeat"
        )
        beater.start()
        from ocma_core.engine.warm import warm_up

        await asyncio.to_thread(warm_up)  # before the first claim: no post waits for an import
        try:
            await self._loop()
        finally:
            beat_stop.set()
            await asyncio.to_thread(beater.join, 10)
        try:
            await asyncio.to_thread(self._forget)
        except Exception:
            log.exception("could not remove heartbeat")

    def _maybe_schedule_jobs(self, now: float) -> None:
        """OCMA_BACKGROUND=rq: once a second, put the rounds that are due on the rq queues (ocma_core.jobs)."""
        busy = self._jobs_task is not None and not self._jobs_task.done()
        if busy or now - self._last_jobs < 1.0 or self._jobs is None:
            return
        self._last_jobs = now
        scheduler = self._jobs

        async def schedule() -> None:
            try:
                await asyncio.to_thread(scheduler.tick, time.time())
            except Exception:
                log.exception("could not schedule background jobs")

        self._jobs_task = asyncio.create_task(schedule())

    def _maybe_collect_metrics(self, now: float) -> None:
        """Start a low-priority metrics round when publishing leaves at least half the slots free."""
        interval = self.ocma.settings.metrics_interval_s
        busy = self._metrics_task is not None and not self._metrics_task.done()
        if not interval or busy or now - self._last_metrics < interval:
            return
        if len(self.tasks) > self.concurrency // 2:
            return  # publishing first; try again on a later pass
        self._last_metrics = now

        async def collect() -> None:
            from ocma_core.services.metrics import collect_due

            try:
                await collect_due(self.ocma, limit=METRICS_BATCH, budgets=self.runtime.budgets)
            except Exception:
                log.exception("metrics collection round failed")

        self._metrics_task = asyncio.create_task(collect())

    def _maybe_emit_reports(self, now: float) -> None:
        """Look for due weekly reports every REPORT_CHECK_S; one worker of all emits each (claim_once)."""
        busy = self._report_task is not None and not self._report_task.done()
        if self.ocma.settings.weekly_report_at == "off" or busy:
            return
        if self._last_report_check is not None and now - self._last_report_check < REPORT_CHECK_S:
            return
        self._last_report_check = now

        async def check() -> None:
            from ocma_core.engine.weekly import emit_due_reports

            try:
                emitted = await asyncio.to_thread(emit_due_reports, self.ocma, seen=self._reports_seen)
                self.reports_emitted += len(emitted)
            except Exception:
                log.exception("weekly report round failed")
            finally:
                self.report_checks += 1

        self._report_task = asyncio.create_task(check())

    def _maybe_check_expiry(self, now: float) -> None:
        """Warn about logins that end without a refresh, and hold ended ones, every expiry.CHECK_S."""
        from ocma_core.engine import expiry

        busy = self._expiry_task is not None and not self._expiry_task.done()
        if busy or (self._last_expiry_check is not None and now - self._last_expiry_check < expiry.CHECK_S):
            return
        self._last_expiry_check = now

        async def check() -> None:
            try:
                await asyncio.to_thread(expiry.check_expiring, self.ocma)
            except Exception:
                log.exception("login expiry check failed")

        self._expiry_task = asyncio.create_task(check())

    def _maybe_send_webhooks(self, now: float) -> None:
        """Each WEBHOOKS_S, rounds of outbound webhooks in a thread until one is not full (never two at once per
        worker)."""
        busy = self._webhook_task is not None and not self._webhook_task.done()
        if busy or now - self._last_webhooks < WEBHOOKS_S:
            return
        self._last_webhooks = now

        async def send() -> None:
            from ocma_core.webhook_delivery import BATCH, run

            try:  # a full round means more are due: go on at once rather than a round a second
                while await asyncio.to_thread(run, self.ocma) >= BATCH and not self._stop.is_set():
                    pass
            except Exception:
                log.exception("webhook round failed")

        self._webhook_task = asyncio.create_task(send())

    def _maybe_run_plugin_jobs(self, now: float) -> None:
        """Rounds plugins added (register_background_jobs), each in a thread once its period passed, never two
        of one kind at once per worker."""
        try:
            added = jobs.plugin_jobs()
        except Exception:
            log.exception("could not list the background jobs plugins added")
            return
        for name, job in added.items():
            task = self._plugin_tasks.get(name)
            if (task is not None and not task.done()) or now - self._plugin_last.get(
                name, 0.0
            ) < job.period_s:
                continue
            self._plugin_last[name] = now

            async def round_of(job: BackgroundJob = job) -> None:
                try:
                    await asyncio.to_thread(job.work, self.ocma)
                except Exception:
                    log.exception("background job %s failed", job.name)

            self._plugin_tasks[name] = asyncio.create_task(round_of())

    async def _loop(self) -> None:
        last_reconcile = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if self._jobs is None:
                self._maybe_collect_metrics(now)
                self._maybe_emit_reports(now)
                self._maybe_send_webhooks(now)
                self._maybe_check_expiry(now)
                self._maybe_run_plugin_jobs(now)
            else:
                self._maybe_schedule_jobs(now)
            try:
                if now - last_reconcile >= RECONCILE_S:
                    await asyncio.to_thread(self.reconcile)
                    last_reconcile = now
                free = self._claimable()
                if not free:  # busy: claim in batches (one statement each), not one by one
                    await self._nap()
                    continue
                popped, claimed, next_at = await asyncio.to_thread(self._pop_and_claim, free)
            except Exception:
                log.exception("worker loop error; retrying in 1 s")
                await asyncio.sleep(1.0)
                continue
            for one in claimed:
                self.runtime.unsent.add(one.target.id)
                task = asyncio.create_task(self._run_one(one))
                self.tasks.add(task)
                task.add_done_callback(self._task_ended)
            # Nothing more due now: wait a little, longer while the queue stays empty (an idle worker asked Redis
            # 50 times a second); anything found brings the short wait back.
            self._idle = 0.0 if popped else min(max(self._idle * 2, POLL_S), IDLE_POLL_S)
            if popped < free:
                next_in = None if next_at is None else next_at - time.monotonic()
                await self._nap(nap_length(self._idle, next_in))
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=60)
        background_tasks = (self._metrics_task, self._report_task, self._expiry_task, self._webhook_task)
        for background in (*background_tasks, self._jobs_task, *self._plugin_tasks.values()):
            if background is not None:
                await asyncio.wait([background], timeout=30)

    def _forget(self) -> None:
        with self.ocma.session() as session:
            beat = session.get(WorkerHeartbeat, self.runtime.worker_id)
            if beat is not None:
                session.delete(beat)
