"""The "publish through rq" alternative, measured: an rq job that publishes one OCMA target the way the engine
does (claim it, call the platform, record the outcome) and the SimpleWorker process that runs such jobs.

Each worker process loads OCMA once (settings, database pool, platform plugins, budgets) and keeps one event
loop, so connections to the platform and the database are reused across jobs — the best an rq-based publisher
could do, not a fork per job. Run as a script: python rq_publish_job.py REDIS_URL QUEUE
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

_state: dict[str, Any] = {}


def _ready() -> tuple[Any, Any, asyncio.AbstractEventLoop]:
    """OCMA's context, a publishing runtime and this process's event loop (made on the first job)."""
    if not _state:
        from ocma_core.cli.setup import startup_context
        from ocma_core.engine.budgets import make_budgets
        from ocma_core.engine.runtime import Runtime
        from ocma_core.engine.worker import new_worker_id

        ocma = startup_context(create_key=False)
        url = ocma.settings.redis_url
        runtime = Runtime(
            worker_id=new_worker_id("rq"),
            max_attempts=ocma.settings.publish_max_attempts,
            budgets=make_budgets(url, prefix=ocma.redis_namespace) if url else make_budgets(None),
        )
        _state.update(ocma=ocma, runtime=runtime, loop=asyncio.new_event_loop())
    return _state["ocma"], _state["runtime"], _state["loop"]


def publish_target(target_id: str) -> str:
    """Claim and publish one target; the outcome's name ('not claimed' when another worker had it)."""
    from ocma_core.engine import transitions
    from ocma_core.engine.publisher import publish_claimed

    ocma, runtime, loop = _ready()
    claimed = transitions.claim_many(ocma, [target_id], runtime.worker_id)
    if not claimed:
        return "not claimed"
    return loop.run_until_complete(publish_claimed(ocma, runtime, claimed[0]))


if __name__ == "__main__":
    import redis
    from rq import Queue, SimpleWorker

    sys.modules.setdefault("rq_publish_job", sys.modules[__name__])
    _ready()  # loaded before the first job, like the engine's workers
    connection = redis.Redis.from_url(sys.argv[1])
    SimpleWorker([Queue(sys.argv[2], connection=connection)], connection=connection).work(
        logging_level="WARNING"
    )
