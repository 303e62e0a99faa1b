"""The core tools and the default toolset (core tools plus those plugins add through `register_tools`).

Plugin tools are plain typed, documented functions (plugins import only `ocma_core`). A plugin marks what a
tool does with function attributes: `fn.ocma_effect = "public"` for anything that reaches an audience (the
approval policy then applies: without an inline approver it is refused), `fn.ocma_action = "posts.schedule"`
for the permission a caller needs (default: tools.read, tools.write or tools.public by effect) and
`fn.ocma_untrusted = False` when its results carry no outside text (the default for plugin tools is untrusted). A parameter typed `Ocma` or
named `workspace_id` is filled in by the agent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ocma_agent.toolkit import Effect, Tool
from ocma_agent.toolset import Toolset
from ocma_core.app.plugins import Registry
from ocma_core.permissions import Action

log = logging.getLogger(__name__)
_lock = threading.Lock()
_core: list[Tool] | None = None
_default: tuple[int, Toolset] | None = None


def _specs() -> list[tuple[Callable[..., Any], Effect, Action, bool, str | None]]:
    """(function, effect, the permission it needs, untrusted results, name) of each core tool."""
    from ocma_agent.tools import accounts, campaign, content, deletion, events, insights, posts, schedule, web

    return [
        (posts.list_accounts, "read", Action.ACCOUNTS_READ, False, None),
        (accounts.set_account_setting, "write", Action.ACCOUNTS_CONNECT, False, None),
        (posts.draft_post, "create", Action.POSTS_CREATE, False, None),
        (posts.edit_post, "public", Action.POSTS_EDIT, False, None),
        (posts.validate_post, "read", Action.POSTS_READ, False, None),
        (content.adapt_post, "write", Action.POSTS_EDIT, False, None),
        (content.generate_image, "create", Action.CONTENT_GENERATE, False, None),
        (schedule.schedule_post, "public", Action.POSTS_SCHEDULE, False, None),
        (schedule.publish_now, "public", Action.POSTS_PUBLISH, False, None),
        (schedule.retry_post, "public", Action.POSTS_RETRY, False, None),
        (posts.cancel_post, "write", Action.POSTS_CANCEL, False, None),
        (deletion.delete_published_post, "public", Action.POSTS_DELETE_PUBLISHED, False, None),
        (posts.calendar_view, "read", Action.POSTS_READ, False, "calendar"),
        (insights.post_metrics, "read", Action.ANALYTICS_READ, False, None),
        (insights.performance_summary, "read", Action.ANALYTICS_READ, False, None),
        (campaign.plan_campaign, "create", Action.CAMPAIGNS_PLAN, False, None),
        (campaign.campaign_step, "write", Action.CAMPAIGNS_PLAN, False, None),
        (web.fetch_page, "read", Action.WEB_FETCH, True, None),
        (events.recent_events, "read", Action.EVENTS_READ, True, None),  # webhook.* carry outside text
    ]


def core_tools() -> list[Tool]:
    """OCMA's own tools (built once per process)."""
    global _core
    with _lock:
        if _core is None:
            _core = [
                Tool.from_function(
                    fn, effect=effect, action=action, untrusted=untrusted, name=name, plugin="ocma_agent"
                )
                for fn, effect, action, untrusted, name in _specs()
            ]
        return list(_core)


def _accept(item: Any, plugin_name: str) -> Tool:
    """A registered Tool, or a Tool made from a typed, documented function (TypeError/ValueError when not)."""
    if isinstance(item, Tool):
        item.plugin = plugin_name
        return item
    if not callable(item):
        raise TypeError(f"register() takes a Tool or a typed function, got {item!r}")
    untrusted = bool(getattr(item, "ocma_untrusted", True))
    return Tool.from_function(item, untrusted=untrusted, plugin=plugin_name)


TOOLS: Registry[Tool] = Registry(
    "register_tools", "tools", _accept, builtin=core_tools, builtin_plugin="ocma_agent"
)


def plugin_tools() -> list[Tool]:
    """Tools registered by plugins through `register_tools` (a broken or clashing one is a plugin error)."""
    return [tool for tool in TOOLS.items().values() if tool.plugin != "ocma_agent"]


def default_toolset() -> Toolset:
    """Core tools plus plugin tools, cached per plugin host."""
    global _default
    from ocma_core.app.plugins import get_host

    key = id(get_host())
    with _lock:
        if _default is not None and _default[0] == key:
            return _default[1]
    toolset = Toolset(TOOLS.items().values())
    with _lock:
        _default = (key, toolset)
    return toolset


def clear() -> None:
    """Forget the cached toolset (after plugins change)."""
    global _default
    TOOLS.clear()
    with _lock:
        _default = None
