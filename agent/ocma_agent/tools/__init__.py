"""The core tools and the default toolset (core tools plus those plugins add through `register_tools`).

Plugin tools are plain typed, documented functions (plugins import only `ocma_core`). A plugin marks what a
tool does with function attributes: `fn.ocma_effect = "public"` for anything that reaches an audience (the
approval policy then applies: without an inline approver it is refused) and `fn.ocma_untrusted = False` when
its results carry no outside text (the default for plugin tools is untrusted). A parameter typed `Ocma` or
named `workspace_id` is filled in by the agent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ocma_agent.toolkit import Effect, Tool
from ocma_agent.toolset import Toolset

log = logging.getLogger(__name__)
_lock = threading.Lock()
_core: list[Tool] | None = None
_default: tuple[int, Toolset] | None = None


def _specs() -> list[tuple[Callable[..., Any], Effect, bool, str | None]]:
    from ocma_agent.tools import campaign, content, deletion, insights, posts, schedule, web

    return [
        (posts.list_accounts, "read", False, None),
        (posts.draft_post, "write", False, None),
        (posts.edit_post, "public", False, None),
        (posts.validate_post, "read", False, None),
        (content.adapt_post, "write", False, None),
        (content.generate_image, "write", False, None),
        (schedule.schedule_post, "public", False, None),
        (schedule.publish_now, "public", False, None),
        (schedule.retry_post, "public", False, None),
        (posts.cancel_post, "write", False, None),
        (deletion.delete_published_post, "public", False, None),
        (posts.calendar_view, "read", False, "calendar"),
        (insights.post_metrics, "read", False, None),
        (insights.performance_summary, "read", False, None),
        (campaign.plan_campaign, "write", False, None),
        (campaign.campaign_step, "write", False, None),
        (web.fetch_page, "read", True, None),
    ]


def core_tools() -> list[Tool]:
    """OCMA's own tools (built once per process)."""
    global _core
    with _lock:
        if _core is None:
            _core = [
                Tool.from_function(fn, effect=effect, untrusted=untrusted, name=name, plugin="ocma_agent")
                for fn, effect, untrusted, name in _specs()
            ]
        return list(_core)


def plugin_tools() -> list[Tool]:
    """Tools registered by plugins through `register_tools` (a broken one is logged and skipped)."""
    from ocma_core.registry import collect

    tools = []
    for plugin, item in collect("register_tools", "tools"):
        try:
            if isinstance(item, Tool):
                item.plugin = plugin
                tools.append(item)
            else:
                untrusted = bool(getattr(item, "ocma_untrusted", True))
                tools.append(Tool.from_function(item, untrusted=untrusted, plugin=plugin))
        except (TypeError, ValueError) as exc:
            log.warning("plugin %s registered a tool that cannot be used: %s", plugin, exc)
    return tools


def default_toolset() -> Toolset:
    """Core tools plus plugin tools, cached per plugin host."""
    global _default
    from ocma_core.plugins import get_host

    key = id(get_host())
    with _lock:
        if _default is not None and _default[0] == key:
            return _default[1]
    toolset = Toolset([*core_tools(), *plugin_tools()])
    with _lock:
        _default = (key, toolset)
    return toolset


def clear() -> None:
    """Forget the cached toolset (after plugins change)."""
    global _default
    with _lock:
        _default = None
