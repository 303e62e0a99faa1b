"""BackgroundJob: how a plugin (or the agent) adds a background round to the worker (ocma_core.jobs runs them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ocma_core.context import Ocma


@dataclass(frozen=True)
class BackgroundJob:
    """A round of background work: `work(ocma)` about every `period_s` seconds, never two at once per worker.

    It runs in the publishing worker's process (`OCMA_BACKGROUND=inline`) or as an rq job on the `queue`
    ("high" or "low") when OCMA_BACKGROUND=rq; `name` is lower-case words joined by `_` (not a core round's)."""

    name: str
    work: Callable[[Ocma], object]
    period_s: float = 5.0
    queue: str = "low"
