"""Background rounds plugins add (register_background_jobs): run inline by the worker, or scheduled on rq."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from tests_support import REDIS_URL, need_service, run_worker

from ocma_core import BackgroundJob, hookimpl, jobs
from ocma_core.context import Ocma
from ocma_core.plugins import PluginHost

RAN: list[str] = []
_lock = threading.Lock()


def _count(ocma: Ocma) -> object:
    with _lock:
        RAN.append(ocma.settings.database_url or "")
    return len(RAN)


class Counting:
    @hookimpl
    def register_background_jobs(self, register: Any) -> None:
        register(BackgroundJob("test_counting", _count, period_s=0.05, queue="high"))


class Broken:
    @hookimpl
    def register_background_jobs(self, register: Any) -> None:
        register(BackgroundJob("metrics", _count))  # a core round's name


@pytest.fixture
def counting(plugin_host: PluginHost) -> Iterator[None]:
    RAN.clear()
    plugin_host.register(Counting(), name="counting")
    jobs.PLUGIN_JOBS.clear()
    yield
    jobs.PLUGIN_JOBS.clear()


def test_the_inline_worker_runs_a_plugins_round(ocma: Ocma, counting: None) -> None:
    assert "test_counting" in jobs.all_kinds()
    run_worker(ocma, lambda: len(RAN) >= 2, timeout=30)
    assert len(RAN) >= 2  # run again once its period passed


def test_rq_schedules_and_runs_a_plugins_round(ocma: Ocma, counting: None) -> None:
    need_service("redis", REDIS_URL)
    settings = ocma.settings.model_copy(update={"redis_url": REDIS_URL, "background": "rq"})
    context = Ocma(settings)
    context.__dict__["redis_namespace"] = f"ocma-test-bgjobs-{uuid.uuid4().hex[:8]}:"
    try:
        assert "test_counting" in jobs.Scheduler(context).tick(1_900_000_000.0)
        jobs.work(context, burst=True)
        assert len(RAN) == 1
        assert jobs.run("test_counting").startswith("test_counting: ")
    finally:
        client = jobs._redis(context)
        for key in client.scan_iter(f"*{context.redis_namespace}*"):
            client.delete(key)


def test_a_job_taking_a_core_rounds_name_is_refused(plugin_host: PluginHost) -> None:
    plugin_host.register(Broken(), name="broken")
    jobs.PLUGIN_JOBS.clear()
    try:
        assert "metrics" not in jobs.plugin_jobs()
        assert jobs.all_kinds()["metrics"] is jobs.KINDS["metrics"]
    finally:
        jobs.PLUGIN_JOBS.clear()
