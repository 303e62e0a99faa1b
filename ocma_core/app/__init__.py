"""The public app API: what a plugin, bot or agent may use of OCMA's application (documented in
docs/reference.md; tests/test_layering.py keeps agent/, bots/ and plugins/ to it).

    from ocma_core.app import Ocma, posts, calendar
    post = posts.get_post(ocma, workspace_id, post_id)

Areas: `posts`, `calendar`, `accounts`, `workspaces`, `approvals`, `analytics`, `media`, `content`, `events`,
`models` (stored records), `web` (routes added through register_routes), `cli` (commands added through
register_commands) and `plugins`. Besides these, public names are `ocma_core`'s top-level exports and the
modules `ocma_core.errors`, `ocma_core.permissions`, `ocma_core.ai`, `ocma_core.net`, `ocma_core.platforms` (with
`platforms.graph`) and `ocma_core.testing`.
Each area is imported on first use, so `import ocma_core.app` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ocma_core.app import (
        accounts,
        analytics,
        approvals,
        calendar,
        cli,
        content,
        events,
        media,
        models,
        plugins,
        posts,
        web,
        workspaces,
    )
    from ocma_core.context import Ocma

AREAS = (
    "accounts",
    "analytics",
    "approvals",
    "calendar",
    "cli",
    "content",
    "events",
    "media",
    "models",
    "plugins",
    "posts",
    "web",
    "workspaces",
)
__all__ = [
    "AREAS",
    "Ocma",
    "accounts",
    "analytics",
    "approvals",
    "calendar",
    "cli",
    "content",
    "events",
    "media",
    "models",
    "plugins",
    "posts",
    "web",
    "workspaces",
]


def __getattr__(name: str) -> Any:
    """Import an area (or `Ocma`) on first use."""
    if name == "Ocma":
        from ocma_core.context import Ocma

        return Ocma
    if name in AREAS:
        return importlib.import_module(f"ocma_core.app.{name}")
    raise AttributeError(f"module 'ocma_core.app' has no attribute {name!r}")
