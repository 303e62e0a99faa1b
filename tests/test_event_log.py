"""The event log: one stored row per event with a per-workspace sequence id (gapless and unique under
concurrent writers), plugin delivery from a stored cursor (resumed after a crash, at least once), and
docs/events.md in step with the kinds."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from ocma_core import hookimpl
from ocma_core.context import Ocma
from ocma_core.db.event_models import EventCursor
from ocma_core.db.models import Notification
from ocma_core.db.types import utcnow
from ocma_core.event_kinds import KINDS, markdown
from ocma_core.eventlog import claim, read, sweep
from ocma_core.events import Event, dispatch, record
from ocma_core.plugins import PluginHost
from ocma_core.services.workspaces import create_workspace


class Capture:
    """A plugin that records every event it is given."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    @hookimpl
    def on_event(self, event: Event) -> None:
        self.events.append(event)


@pytest.fixture
def capture(plugin_host: PluginHost) -> Capture:
    found = Capture()
    plugin_host.register(found, name="capture")
    return found


def _store(ocma: Ocma, workspace_id: str, n: int) -> Event:
    event = Event("post.scheduled", workspace_id, {"post_id": f"p{n}", "scheduled_at": utcnow().isoformat()})
    with ocma.session() as session:
        record(session, event)
    return event


def test_sequence_ids_are_per_workspace_and_stamped(ocma: Ocma, workspace_id: str) -> None:
    other = create_workspace(ocma, "Other", timezone="UTC", owner_email="o@example.com").id
    seqs = [_store(ocma, workspace_id, i).seq for i in range(3)]
    assert seqs == [1, 2, 3]
    assert _store(ocma, other, 9).seq == 1
    stored = read(ocma, workspace_id)
    assert [e.seq for e in stored] == [1, 2, 3] and stored[0].payload["post_id"] == "p0"
    assert stored[0].id == f"evt_{workspace_id}_1"
    assert [e.seq for e in read(ocma, workspace_id, after=2)] == [3]


def test_concurrent_writers_get_unique_gapless_ids(ocma: Ocma, workspace_id: str) -> None:
    threads, each = 6, 15
    errors: list[BaseException] = []

    def write(t: int) -> None:
        try:
            for i in range(each):
                _store(ocma, workspace_id, t * 100 + i)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=write, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors
    with ocma.session() as session:
        seqs = sorted(s for s in session.exec(select(Notification.seq)) if s is not None)
    assert seqs == list(range(1, threads * each + 1))


def test_a_rolled_back_change_leaves_no_event_and_no_gap(ocma: Ocma, workspace_id: str) -> None:
    _store(ocma, workspace_id, 1)
    with pytest.raises(RuntimeError), ocma.session() as session:
        record(session, Event("post.scheduled", workspace_id, {"post_id": "x"}))
        raise RuntimeError("the change failed")
    assert _store(ocma, workspace_id, 2).seq == 2


def test_plugins_get_each_event_once_in_order(ocma: Ocma, workspace_id: str, capture: Capture) -> None:
    for i in range(3):
        dispatch(_store(ocma, workspace_id, i), ocma)
    assert [e.seq for e in capture.events] == [1, 2, 3]
    assert [e.payload["post_id"] for e in capture.events] == ["p0", "p1", "p2"]


def test_delivery_resumes_from_the_cursor_after_a_crash(
    ocma: Ocma, workspace_id: str, capture: Capture
) -> None:
    dispatch(_store(ocma, workspace_id, 0), ocma)
    # A process stores two events, takes the cursor and dies before handing them over.
    stored = [_store(ocma, workspace_id, i) for i in (1, 2)]
    assert claim(ocma, "plugins", workspace_id, "dead-process") == 1
    assert sweep(ocma) == 0  # the lease is still live: nobody else delivers yet
    with ocma.session() as session:
        session.execute(
            update(EventCursor)
            .where(col(EventCursor.workspace_id) == workspace_id)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
    assert sweep(ocma) == 2  # the lease expired: a live worker delivers what was left
    assert [e.seq for e in capture.events] == [1, *[e.seq for e in stored]]
    assert sweep(ocma) == 0  # and never again


def test_an_event_never_stored_still_reaches_plugins(capture: Capture, ocma: Ocma) -> None:
    dispatch(Event("post.scheduled", "w", {"post_id": "p"}), ocma)
    assert [e.seq for e in capture.events] == [None]


def test_docs_list_every_kind_with_its_schema() -> None:
    # the plugins' kinds too: tests/test_event_kinds_declared.py compares the whole file with every plugin loaded
    text = (Path(__file__).resolve().parent.parent / "docs" / "events.md").read_text()
    assert text.startswith(markdown().split("## Kinds plugins declare")[0])
    assert all(f"## `{kind}`" in text for kind in KINDS), (
        "run: python -m ocma_core.event_kinds > docs/events.md"
    )
    for kind in ("metrics.updated", "post.approval_requested", "post.approved", "experiment.decided"):
        assert kind in KINDS


WRITER = """
import sys
from ocma_core.config import Settings
from ocma_core.context import Ocma
from ocma_core.events import Event, record

ocma = Ocma(Settings(database_url=sys.argv[1], encryption_keys=sys.argv[2], _env_file=None))
for i in range(int(sys.argv[4])):
    with ocma.session() as session:
        record(session, Event("post.scheduled", sys.argv[3], {"post_id": f"proc-{i}"}))
"""


def test_writers_in_several_processes_get_unique_gapless_ids(ocma: Ocma, workspace_id: str) -> None:
    import subprocess
    import sys

    url, key, each = ocma.settings.resolved_database_url, ocma.encryption_keys[0], 12
    args = [sys.executable, "-c", WRITER, url, key, workspace_id, str(each)]
    running = [subprocess.Popen(args, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for proc in running:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with ocma.session() as session:
        seqs = sorted(s for s in session.exec(select(Notification.seq)) if s is not None)
    assert seqs == list(range(1, 3 * each + 1))
