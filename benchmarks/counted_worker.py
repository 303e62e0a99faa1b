"""`ocma worker --processes 1` that counts its database round trips and Redis commands.

Every second it writes {"statements", "begins", "commits", "rollbacks", "pings", "redis", "deferred",
"slot_held_us", "slot_calls", "http_us", "http_calls"} to
$BENCH_COUNT_DIR/<pid>.json, so a benchmark can take the difference over a measured window.
A round trip is a statement, a BEGIN (psycopg sends it on its own), a COMMIT or ROLLBACK, or a pool pre-ping;
an autocommit statement is one round trip (no BEGIN or COMMIT is sent).

Run: python benchmarks/counted_worker.py --concurrency 64
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

COUNTS: Counter[str] = Counter()


def _count_engine(engine: Any) -> Any:
    from sqlalchemy import event

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(*_: object) -> None:
        COUNTS["statements"] += 1

    def autocommit(conn: Any) -> bool:  # no BEGIN, COMMIT or ROLLBACK goes to the server
        return conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        COUNTS["autocommit" if autocommit(conn) else "begins"] += 1

    @event.listens_for(engine, "commit")
    def _commit(conn: Any) -> None:
        if not autocommit(conn):
            COUNTS["commits"] += 1

    @event.listens_for(engine, "rollback")
    def _rollback(conn: Any) -> None:
        if not autocommit(conn):
            COUNTS["rollbacks"] += 1

    ping = engine.dialect.do_ping

    def counted_ping(dbapi_connection: Any) -> bool:
        COUNTS["pings"] += 1
        return bool(ping(dbapi_connection))

    engine.dialect.do_ping = counted_ping
    return engine


def install() -> None:
    """Count every engine the process makes, and every Redis command."""
    import redis

    from ocma_core.db import engine as db_engine

    make = db_engine.make_engine

    def counted_make(*args: Any, **kwargs: Any) -> Any:
        return _count_engine(make(*args, **kwargs))

    db_engine.make_engine = counted_make  # type: ignore[assignment]
    execute = redis.Redis.execute_command

    def counted_execute(self: Any, *args: Any, **options: Any) -> Any:
        COUNTS["redis"] += 1
        return execute(self, *args, **options)

    redis.Redis.execute_command = counted_execute  # type: ignore[method-assign]

    from ocma_core.engine import publisher

    defer = publisher._defer

    async def counted_defer(*args: Any, **kwargs: Any) -> str:
        COUNTS["deferred"] += (
            1  # claimed, then given back unsent (host busy, budget spent): work redone later
        )
        return await defer(*args, **kwargs)

    publisher._defer = counted_defer  # type: ignore[assignment]
    _count_slots()


def _count_slots() -> None:
    """Count how long each host call slot is held ("slot_held_us", "slot_calls"): the benchmark compares it
    with the platform's answer time, and the slots' busy share with the whole burst."""
    import asyncio
    import time

    from ocma_core.engine.runtime import Runtime
    from ocma_core.platforms import Platform

    take, give = Runtime.host_slot, Runtime.end_call
    taken_at: dict[int, float] = {}  # by task: a slot is taken and given back by the same task

    async def host_slot(self: Runtime, platform: Platform, host: str) -> asyncio.Semaphore | None:
        sem = await take(self, platform, host)
        if sem is not None:
            taken_at[id(asyncio.current_task())] = time.monotonic()
        return sem

    def end_call(self: Runtime, platform: Platform, host: str, sem: asyncio.Semaphore) -> None:
        started = taken_at.pop(id(asyncio.current_task()), None)
        if started is not None:
            COUNTS["slot_held_us"] += int((time.monotonic() - started) * 1e6)
            COUNTS["slot_calls"] += 1
        give(self, platform, host, sem)

    Runtime.host_slot = host_slot  # type: ignore[method-assign]
    Runtime.end_call = end_call  # type: ignore[method-assign]
    _count_http_calls()


def _count_http_calls() -> None:
    """Count how long the platform's HTTP calls made in a host slot take ("http_us", "http_calls"): what of a
    slot's time is the call itself (request out, answer in and read), and what is the engine's before and after it."""
    import time

    from ocma_core.engine.runtime import SLOT
    from ocma_core.net.transport import _CookielessAsyncClient

    fetch = _CookielessAsyncClient.fetch

    async def timed_fetch(self: _CookielessAsyncClient, *args: Any, **kwargs: Any) -> Any:
        if SLOT.get() is None:  # not a publish's call (a metrics round's, say): not in a slot's time
            return await fetch(self, *args, **kwargs)
        started = time.monotonic()
        try:
            return await fetch(self, *args, **kwargs)
        finally:
            COUNTS["http_us"] += int((time.monotonic() - started) * 1e6)
            COUNTS["http_calls"] += 1

    _CookielessAsyncClient.fetch = timed_fetch  # type: ignore[method-assign]


def _dump_forever(directory: Path) -> None:
    path, tmp = directory / f"{os.getpid()}.json", directory / f"{os.getpid()}.tmp"
    while directory.exists():  # the benchmark removes it when done
        try:
            tmp.write_text(json.dumps(dict(COUNTS)))
            tmp.replace(path)
        except FileNotFoundError:
            return
        threading.Event().wait(0.5)


def main() -> None:
    """Install the counters, start the dumper thread, run the worker command."""
    install()
    directory = Path(os.environ["BENCH_COUNT_DIR"])
    threading.Thread(target=_dump_forever, args=(directory,), daemon=True).start()
    from ocma_core.cli.main import main as cli

    sys.argv = ["ocma", "worker", "--processes", "1", *sys.argv[1:]]
    cli()


if __name__ == "__main__":
    main()
