"""The analyzers registered through the `register_analyzers` hook (built-ins and plugins alike)."""

from __future__ import annotations

from typing import Any, cast

from ocma_core.analytics.base import Analyzer
from ocma_core.errors import NotFoundError
from ocma_core.plugin_registry import Registry


def _accept(item: Any, plugin_name: str) -> Analyzer:
    name = getattr(item, "name", None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"{item!r} is not an analyzer: it has no `name`")
    if not callable(getattr(item, "run", None)):
        raise ValueError(f"analyzer {name!r} has no run()")
    return cast(Analyzer, item)


ANALYZERS: Registry[Analyzer] = Registry("register_analyzers", "analyzers", _accept)


def get_analyzers() -> dict[str, Analyzer]:
    """Every valid analyzer by name; the first registered keeps a name, a duplicate or invalid one is a plugin
    error (`ocma plugins`)."""
    return ANALYZERS.items()


def get_analyzer(name: str) -> Analyzer:
    """One analyzer, or an error listing the installed ones."""
    analyzers = get_analyzers()
    if name not in analyzers:
        raise NotFoundError(
            f"No analyzer {name!r}; installed: {', '.join(sorted(analyzers)) or 'none'}.",
            fix="Check `ocma plugins`.",
        )
    return analyzers[name]
