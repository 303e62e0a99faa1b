"""The analyzers registered through the `register_analyzers` hook (built-ins and plugins alike)."""

from __future__ import annotations

import logging

from ocma_core.analytics.base import Analyzer
from ocma_core.errors import NotFoundError

log = logging.getLogger(__name__)


def get_analyzers() -> dict[str, Analyzer]:
    """Every valid analyzer by name; the first registered wins a name, invalid ones are logged and skipped."""
    from ocma_core.registry import collect

    found: dict[str, Analyzer] = {}
    for plugin, item in collect("register_analyzers", "analyzers"):
        name = getattr(item, "name", None)
        if not isinstance(name, str) or not name or not callable(getattr(item, "run", None)):
            log.warning("plugin %s registered an analyzer without a name or run(): %r", plugin, item)
            continue
        found.setdefault(name, item)
    return found


def get_analyzer(name: str) -> Analyzer:
    """One analyzer, or an error listing the installed ones."""
    analyzers = get_analyzers()
    if name not in analyzers:
        raise NotFoundError(
            f"No analyzer {name!r}; installed: {', '.join(sorted(analyzers)) or 'none'}.",
            fix="Check `ocma plugins`.",
        )
    return analyzers[name]
