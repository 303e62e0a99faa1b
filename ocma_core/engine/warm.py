"""What a publishing worker loads before it claims anything, so its first posts are not late by imports.

The publish path imports some modules where they are first needed (they are heavy, or would make an import
cycle): the HTTP transport (aiohttp), the content builder, the PostgreSQL finish, the failure paths. Loaded on
the first publish, they cost a freshly started worker a few hundred milliseconds in the middle of its first
posts (measured: benchmarks/publish_on_time.py, "first post out"); loaded at start, nothing waits for them.
"""

from __future__ import annotations

import importlib
import logging

log = logging.getLogger(__name__)

HOT_PATH_MODULES = (
    "ocma_core.net.aio",  # the platforms' HTTP transport (aiohttp)
    "ocma_core.services.posts",  # content_for
    "ocma_core.engine.finish_pg",  # one-statement finish on PostgreSQL
    "ocma_core.engine.putback",
    "ocma_core.engine.pending",
    "ocma_core.engine.holding",
    "ocma_core.events",
    "ocma_core.services.recurring",
    "ocma_core.webhook_delivery",
)


def warm_up(modules: tuple[str, ...] = HOT_PATH_MODULES) -> list[str]:
    """Import the publish path's lazily imported modules now; returns those that could not be loaded (logged,
    not fatal: the publish that needs one reports the failure where it happens)."""
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:
            log.warning("could not load %s ahead of the first publish", name, exc_info=True)
            missing.append(name)
    return missing
