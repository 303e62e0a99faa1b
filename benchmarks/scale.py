"""API and scheduling latencies as the backlog of scheduled posts grows (SQLite).

Set-up (not timed): a fresh SQLite database migrated to head, one workspace with 10 FakeSocial accounts
whose queue slots are set, then scheduled posts (one target each, spread over the accounts, one per minute
from tomorrow on) inserted in bulk up to each size. At each size, timed (median of RUNS calls, in ms):
  list_first   GET /v1/posts?limit=100 (the listing's first page, unfiltered)
  list_second  GET /v1/posts?limit=100&after=CURSOR (the second page, by the first page's cursor: nearly every
               post comes after it, so a plan that sorts what follows the cursor shows here, not in list_deep)
  list_deep    GET /v1/posts?limit=100&after=CURSOR (a deep page, 200 from the end, by its keyset cursor)
  list_deep_offset  the same page by offset=size-200 (grows with the backlog: the rows before it are skipped)
  list_status  GET /v1/posts?status=scheduled&limit=100
  list_account GET /v1/posts?account_id=ID&limit=100 (one account of ten: a dense one)
  next_slot    scheduling.next_free_slot for all 10 accounts (what action=next_slot runs)
  status       services.status.engine_status (what `ocma status` reads; counts capped at COUNT_CAP)

Run: .venv/bin/python benchmarks/scale.py [SIZES]   (default 10000,100000; e.g. 10000,100000,1000000)
Last line: <op>_<size>_ms=... for every op and size. The database (about 1.3 GB at 1M) is deleted at the end;
BENCH_KEEP=1 keeps it and prints its path (for EXPLAIN QUERY PLAN and timing single statements on it).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "example_platform"))

RUNS = 5
ACCOUNTS = 10
CHUNK = 20_000


def median_ms(call: Callable[[], object]) -> float:
    """Median wall time of RUNS calls, after one warm-up call."""
    call()
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2)


def main(sizes: list[int]) -> None:
    """Seed up to each size and time each operation there."""
    from fastapi.testclient import TestClient

    from ocma_core.api.app import create_app
    from ocma_core.config import Settings
    from ocma_core.context import Ocma
    from ocma_core.db.engine import make_engine
    from ocma_core.db.migrate import upgrade
    from ocma_core.db.models import Account, Post, Target, Workspace
    from ocma_core.db.types import new_id, utcnow
    from ocma_core.services.scheduling import next_free_slot
    from ocma_core.services.status import engine_status
    from ocma_core.services.workspaces import create_api_key, create_workspace, update_settings

    data_dir = Path(tempfile.mkdtemp(prefix="ocma-scale-"))
    url = f"sqlite:///{data_dir / 'scale.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    ocma = Ocma(Settings(database_url=url, data_dir=data_dir, _env_file=None))  # type: ignore[call-arg]
    ws = create_workspace(ocma, "Scale", timezone="UTC").id
    update_settings(ocma, ws, queue_slots={"weekdays": [], "times": ["09:00", "13:00", "17:00"]})
    now = utcnow()
    accounts = [
        {
            "id": new_id(),
            "workspace_id": ws,
            "platform": "fakesocial",
            "external_id": str(1000 + i),
            "handle": f"account{i}",
            "display_name": "",
            "status": "connected",
            "access_token_enc": "benchmark-makes-no-platform-call",
            "scopes": [],
            "settings": {},
            "token_version": 0,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(ACCOUNTS)
    ]
    with ocma.session() as session:
        session.execute(insert(Account), accounts)
    key = create_api_key(ocma, ws).key
    headers = {"Authorization": f"Bearer {key}"}
    client = TestClient(create_app(ocma, run_worker=False))
    start = (now + timedelta(days=1)).replace(second=0, microsecond=0)
    seeded, results = 0, {}
    for size in sizes:
        while seeded < size:
            batch = range(seeded, min(size, seeded + CHUNK))
            posts, targets = [], []
            for i in batch:
                post_id, when, account = new_id(), start + timedelta(minutes=i), accounts[i % ACCOUNTS]
                posts.append(
                    {
                        "id": post_id,
                        "workspace_id": ws,
                        "body": f"post {i}",
                        "status": "scheduled",
                        "scheduled_at": when,
                        "timezone": "UTC",
                        "created_by": "scale",
                        "created_at": now,
                        "updated_at": now,
                        "media_ids": [],
                        "variants": {},
                        "thread": [],
                        "options": {},
                    }
                )
                targets.append(
                    {
                        "id": new_id(),
                        "post_id": post_id,
                        "workspace_id": ws,
                        "account_id": account["id"],
                        "platform": "fakesocial",
                        "status": "queued",
                        "due_at": when,
                        "attempts": 0,
                        "part_ids": [],
                        "updated_at": now,
                    }
                )
            with ocma.session() as session:
                session.execute(insert(Post), posts)
                session.execute(insert(Target), targets)
                session.commit()
            seeded = batch[-1] + 1
        print(f"seeded {seeded} scheduled posts", flush=True)

        def slot() -> object:
            with ocma.session() as session:
                workspace = session.get(Workspace, ws)
                assert workspace is not None
                return next_free_slot(session, workspace, list(session.exec(select(Account))))

        def get(path: str) -> Callable[[], object]:
            def request() -> object:
                answer = client.get(path, headers=headers)
                assert answer.status_code == 200, answer.text
                return answer

            return request

        deep = client.get(
            f"/v1/posts?limit=1&offset={size - 201}", headers=headers
        )  # set-up: the cursor there
        second = client.get("/v1/posts?limit=100", headers=headers).headers["x-next-cursor"]
        ops: dict[str, Callable[[], object]] = {
            "list_first": get("/v1/posts?limit=100"),
            "list_second": get(f"/v1/posts?limit=100&after={second}"),
            "list_deep": get(f"/v1/posts?limit=100&after={deep.headers['x-next-cursor']}"),
            "list_deep_offset": get(f"/v1/posts?limit=100&offset={size - 200}"),
            "list_status": get("/v1/posts?status=scheduled&limit=100"),
            "list_account": get(f"/v1/posts?account_id={accounts[0]['id']}&limit=100"),
            "next_slot": slot,
            "status": lambda: engine_status(ocma),
        }
        for name, call in ops.items():
            results[f"{name}_{size}_ms"] = median_ms(call)
            print(f"  {name} at {size}: {results[f'{name}_{size}_ms']} ms", flush=True)
    client.close()
    ocma.engine.dispose()
    if os.environ.get("BENCH_KEEP") == "1":
        print(f"database kept: {data_dir / 'scale.db'}")
    else:
        shutil.rmtree(data_dir)
    print(" ".join(f"{k}={v}" for k, v in results.items()))


if __name__ == "__main__":
    main([int(s) for s in (sys.argv[1] if len(sys.argv) > 1 else "10000,100000").split(",")])
