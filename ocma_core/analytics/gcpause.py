"""Pause Python's cyclic garbage collector while bulk-building acyclic objects (loaded snapshots).

Building tens of thousands of small objects makes the collector run many times over everything already
built (measured: about a quarter of a monthly report's time); the loaders make no reference cycles, so
nothing is left for it to find. Nested and concurrent pauses are counted: collection resumes after the last.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = True


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the block with cyclic garbage collection off (restored afterwards, even on error)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
