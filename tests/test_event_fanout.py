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
