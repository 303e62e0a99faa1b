"""A one-off plugin (OCMA_PLUGIN_MODULES=ocma_ops_subscriber) that appends every event it receives to the
file named by OPS_TEST_EVENTS_PATH, one JSON line each (O_APPEND: lines from many processes never mix)."""

from __future__ import annotations

import json
import os

from ocma_core import hookimpl
from ocma_core.events import Event


@hookimpl
def on_event(event: Event) -> None:
    """Record the event with the process that delivered it."""
    path = os.environ.get("OPS_TEST_EVENTS_PATH")
    if not path:
        return
    line = {
        "kind": event.kind,
        "post_id": event.payload.get("post_id"),
        "seq": event.seq,
        "pid": os.getpid(),
    }
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(line) + "\n").encode())
    finally:
        os.close(fd)
