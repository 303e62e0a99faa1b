"""The job the fair-rq yardstick runs (the same single POST the engine makes for a target), and its worker.

Run as a script it is one rq `SimpleWorker` (no fork per job) with this module, httpx and its keep-alive
client already imported: python rq_job.py REDIS_URL QUEUE
"""

from __future__ import annotations

import sys

import httpx

_client = httpx.Client(timeout=30)


def post_once(base_url: str, token: str, text: str) -> str:
    """POST /v1/posts to the fake platform and return the new id."""
    response = _client.post(
        f"{base_url}/v1/posts", json={"text": text}, headers={"Authorization": f"Bearer {token}"}
    )
    response.raise_for_status()
    return str(response.json()["id"])


if __name__ == "__main__":
    import redis
    from rq import Queue, SimpleWorker

    sys.modules.setdefault("rq_job", sys.modules[__name__])  # jobs name "rq_job.post_once": this module
    connection = redis.Redis.from_url(sys.argv[1])
    SimpleWorker([Queue(sys.argv[2], connection=connection)], connection=connection).work(
        logging_level="WARNING"
    )
