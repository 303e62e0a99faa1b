"""Fan-out across processes: an event stored and announced by another OS process wakes this process's
listeners through Redis pub/sub (the log stays the source of truth; the wake-up only says "look")."""

from __future__ import annotations

import subprocess
import sys

import pytest
from tests_support import REDIS_URL, need_service

from ocma_core import eventbus
from ocma_core.config import Settings
from ocma_core.context import Ocma
from ocma_core.eventlog import read

PRODUCER = """
import sys
from ocma_core.config import Settings
from ocma_core.context import Ocma
from ocma_core.events import Event, dispatch, record

settings = Settings(data_dir=sys.argv[1], database_url=sys.argv[2], redis_url=sys.argv[3],
                    encryption_keys=sys.argv[4], _env_file=None)
ocma = Ocma(settings)
event = Event("post.published", sys.argv[5], {"post_id": "from-another-process", "targets": []})
with ocma.session() as session:
    record(session, event)
dispatch(event, ocma)
"""


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_another_process_wakes_this_one_through_redis(settings: Settings, workspace_id: str) -> None:
    need_service("redis", REDIS_URL)
    ocma = Ocma(settings.model_copy(update={"redis_url": REDIS_URL}))
    ready = eventbus.listen(ocma)
    assert ready is not None and ready.wait(30)
    args = [
        str(settings.data_dir),
        settings.resolved_database_url,
        REDIS_URL,
        ocma.encryption_keys[0],
        workspace_id,
    ]
    done = subprocess.run(
        [sys.executable, "-c", PRODUCER, *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    heard = eventbus.wait(workspace_id, 0, 30.0)
    stored = read(ocma, workspace_id)
    assert [e.payload["post_id"] for e in stored] == ["from-another-process"]
    assert heard and eventbus.latest(workspace_id) == stored[0].seq


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_burst_of_events_is_one_wake_up_per_workspace(settings: Settings) -> None:
    """Announcing 200 events of one workspace and one of another sends a handful of Redis messages, and the
    last one of each workspace names its newest event (a wake-up says "look", so the newest is enough)."""
    import json
    import time

    import redis

    need_service("redis", REDIS_URL)
    ocma = Ocma(settings.model_copy(update={"redis_url": REDIS_URL}))
    subscriber = redis.Redis.from_url(REDIS_URL).pubsub(ignore_subscribe_messages=True)
    subscriber.subscribe(eventbus.channel(ocma))
    try:
        for seq in range(1, 201):
            eventbus.announce(ocma, "busy", seq)
        eventbus.announce(ocma, "quiet", 7)
        eventbus.flush()
        heard: list[dict[str, object]] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (
            {"w": "busy", "s": 200} in heard and {"w": "quiet", "s": 7} in heard
        ):
            message = subscriber.get_message(timeout=1.0)
            if message is not None:
                heard.append(json.loads(message["data"]))
    finally:
        subscriber.close()
    assert {"w": "busy", "s": 200} in heard and {"w": "quiet", "s": 7} in heard
    assert len(heard) <= 10  # not one per event
    assert eventbus.latest("busy") == 200  # this process's own listeners were told at once
