"""What the engine is compared with: the same POSTs sent by a raw asyncio client, by httpx at its best
concurrency, and by a fair rq (SimpleWorker, job module preloaded, many processes)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes (all their threads), from /proc."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICK


async def raw_client(base_url: str, count: int, in_flight: int) -> float:
    """`count` POST /v1/posts over `in_flight` keep-alive connections, hand-written HTTP/1.1; posts per second."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    todo = list(range(count))

    async def connection(worker: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while todo:
                i = todo.pop()
                body = json.dumps({"text": f"raw {i}"}).encode()
                writer.write(
                    b"POST /v1/posts HTTP/1.1\r\nhost: %s\r\nauthorization: Bearer bench-token-%d\r\n"
                    b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                    % (host.encode(), i % 50, len(body), body)
                )
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 201"):
                    raise RuntimeError(f"raw client: {head[:40]!r}")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(connection(w) for w in range(min(in_flight, count))))
    return count / (time.perf_counter() - start)


async def httpx_client(base_url: str, count: int, in_flight: int) -> float:
    """`count` POSTs through one httpx.AsyncClient with `in_flight` at a time; posts per second."""
    import httpx

    semaphore = asyncio.Semaphore(in_flight)
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def one(i: int) -> None:
            async with semaphore:
                response = await client.post(
                    f"{base_url}/v1/posts",
                    json={"text": f"httpx {in_flight} {i}"},
                    headers={"Authorization": f"Bearer bench-token-{i % 50}"},
                )
                response.raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        return count / (time.perf_counter() - start)


def httpx_best(base_url: str, count: int, levels: tuple[int, ...]) -> tuple[float, int]:
    """httpx at each concurrency level in a fresh process each; (best posts per second, its level)."""
    best = (0.0, 0)
    for level in levels:
        out = subprocess.run(
            [sys.executable, str(Path(__file__)), "httpx", base_url, str(count), str(level)],
            check=True,
            capture_output=True,
            text=True,
        )
        best = max(best, (float(out.stdout.strip()), level))
    return best


def raw_in_process(base_url: str, count: int, in_flight: int) -> float:
    """The raw client in a fresh process (the benchmark's own work must not slow it)."""
    out = subprocess.run(
        [sys.executable, str(Path(__file__)), "raw", base_url, str(count), str(in_flight)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip())


def rq_fair(
    base_url: str, redis_url: str, jobs: int, processes: int, env: dict[str, str]
) -> tuple[float, float]:
    """`jobs` rq jobs, each the same POST, on `processes` SimpleWorkers whose job module (and its keep-alive
    httpx client) is imported before the first job, after an unmeasured warm-up of 4 jobs per worker (each
    worker's connection open, as the engine's are after its warm-up burst); (jobs per second, CPU ms per job)."""

    def post(i: int, label: str) -> tuple[str, tuple[object, ...]]:
        return ("rq_job.post_once", (base_url, f"bench-token-{i % 50}", f"{label} {i}"))

    calls = [post(i, "rq") for i in range(jobs)]
    warmup = [post(i, "rq warm-up") for i in range(4 * processes)]
    return rq_rate("rq_job.py", redis_url, calls, processes, env, warmup=warmup)


Call = tuple[str, tuple[object, ...]]


def rq_rate(
    script: str,
    redis_url: str,
    calls: list[Call],
    processes: int,
    env: dict[str, str],
    warmup: list[Call] | None = None,
) -> tuple[float, float]:
    """Run `calls` (function name, arguments) as rq jobs on `processes` SimpleWorkers started from `script`:
    jobs per second from the first start to the last end, and the workers' CPU per job (from /proc, between
    the moment all are idle, after the `warmup` jobs, and the last job's end: measured like the engine's).

    The jobs are enqueued in one pipeline once every worker waits, and the wait for their end counts the
    queue's finished and failed registries: the benchmark's own work stays out of rq's measured window."""
    import redis
    from rq import Queue, Worker

    conn = redis.Redis.from_url(redis_url)
    queue = Queue("bench_fair", connection=conn)
    queue.empty()
    for registry in (queue.finished_job_registry, queue.failed_job_registry):
        for job_id in registry.get_job_ids():
            registry.remove(job_id, delete_job=True)
    child_env = {**env, "PYTHONPATH": f"{HERE}{os.pathsep}{env.get('PYTHONPATH', '')}"}
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE / script), redis_url, "bench_fair"],
            env=child_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(processes)
    ]
    try:
        deadline = time.monotonic() + 180
        while len(Worker.all(queue=queue)) < processes:  # every worker up and idle before the first job
            if time.monotonic() > deadline:
                raise RuntimeError("rq workers did not start")
            time.sleep(0.2)
        ended = 0
        if warmup:
            _enqueue_all(queue, warmup)
            ended = _wait_ended(queue, len(warmup))
        cpu0 = cpu_seconds([proc.pid for proc in procs])
        ids = _enqueue_all(queue, calls)
        _wait_ended(queue, ended + len(ids))
        cpu1 = cpu_seconds([proc.pid for proc in procs])
        return _rate(conn, ids), (cpu1 - cpu0) * 1000 / len(ids)
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)


def _enqueue_all(queue: object, calls: list[Call]) -> list[str]:
    """Enqueue every call in one Redis pipeline; their job ids."""
    from rq import Queue

    assert isinstance(queue, Queue)
    with queue.connection.pipeline() as pipe:
        jobs = queue.enqueue_many(
            [Queue.prepare_data(name, args=args, result_ttl=600) for name, args in calls], pipeline=pipe
        )
        pipe.execute()
    return [job.id for job in jobs]


def _wait_ended(queue: object, total: int) -> int:
    """Wait until the queue's finished and failed registries hold `total` jobs; how many they hold."""
    from rq import Queue

    assert isinstance(queue, Queue)
    deadline = time.monotonic() + 600
    while True:
        ended = queue.finished_job_registry.count + queue.failed_job_registry.count
        if ended >= total or time.monotonic() > deadline:
            return ended
        time.sleep(0.2)


def _rate(conn: object, ids: list[str]) -> float:
    """Jobs per second from the first job's start to the last one's end (all must have finished)."""
    from rq.job import Job

    jobs = Job.fetch_many(ids, connection=conn)  # type: ignore[arg-type]
    finished = [j for j in jobs if j is not None and j.is_finished]
    if len(finished) < len(ids):
        raise SystemExit(f"rq: only {len(finished)} of {len(ids)} jobs finished")
    first = min(j.started_at for j in finished if j.started_at)
    last = max(j.ended_at for j in finished if j.ended_at)
    return len(ids) / (last - first).total_seconds()


if __name__ == "__main__":
    kind, url, n, level = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    run = raw_client if kind == "raw" else httpx_client
    print(asyncio.run(run(url, n, level)))
