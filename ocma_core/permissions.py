"""Who may do what: one table mapping each action to the least role it needs, and one check every surface
calls (REST route dependencies, the agent's tools, the MCP server, the Slack app, the CLI).

A surface may only be stricter than the table (`SURFACE_LEAST_ROLE`): Slack keeps the buttons that reach
the public (retry, deleting published posts) to admins. `docs/security.md` prints this table; a test keeps
the two in step.
"""

from __future__ import annotations

import enum

from ocma_core.db.models import ROLE_RANK, Role
from ocma_core.errors import PermissionDenied

SURFACES = ("api", "mcp", "agent", "slack", "cli")


class Action(enum.StrEnum):
    """Everything a caller can ask OCMA to do, by what it touches."""

    POSTS_READ = "posts.read"
    POSTS_CHECK = "posts.check"
    POSTS_CREATE = "posts.create"
    POSTS_EDIT = "posts.edit"
    POSTS_IMPORT = "posts.import"
    POSTS_SCHEDULE = "posts.schedule"
    POSTS_PUBLISH = "posts.publish"
    POSTS_RETRY = "posts.retry"
    POSTS_CANCEL = "posts.cancel"
    POSTS_DELETE_PUBLISHED = "posts.delete_published"
    POSTS_APPROVE = "posts.approve"
    ACCOUNTS_READ = "accounts.read"
    ACCOUNTS_TEST = "accounts.test"
    ACCOUNTS_CONNECT = "accounts.connect"
    ACCOUNTS_DISCONNECT = "accounts.disconnect"
    MEDIA_READ = "media.read"
    MEDIA_UPLOAD = "media.upload"
    CONTENT_GENERATE = "content.generate"
    AI_READ = "ai.read"
    AI_CONFIGURE = "ai.configure"
    ANALYTICS_READ = "analytics.read"
    METRICS_COLLECT = "metrics.collect"
    EXPERIMENTS_READ = "experiments.read"
    EXPERIMENTS_MANAGE = "experiments.manage"
    EXPERIMENTS_FINALISE = "experiments.finalise"
    COMPETITORS_READ = "competitors.read"
    COMPETITORS_MANAGE = "competitors.manage"
    CAMPAIGNS_PLAN = "campaigns.plan"
    WEB_FETCH = "web.fetch"
    AGENT_CHAT = "agent.chat"
    AGENT_READ = "agent.read"
    PLUGINS_READ = "plugins.read"
    WORKSPACE_READ = "workspace.read"
    WORKSPACE_CONFIGURE = "workspace.configure"
    WORKSPACES_CREATE = "workspaces.create"
    MEMBERS_READ = "members.read"
    MEMBERS_MANAGE = "members.manage"
    APIKEYS_MANAGE = "apikeys.manage"
    EVENTS_READ = "events.read"
    NOTIFICATIONS_MARK = "notifications.mark"
    WEBHOOKS_READ = "webhooks.read"
    WEBHOOKS_MANAGE = "webhooks.manage"
    TOOLS_READ = "tools.read"
    TOOLS_WRITE = "tools.write"
    TOOLS_PUBLIC = "tools.public"


LEAST_ROLE: dict[Action, Role] = {
    Action.POSTS_READ: Role.VIEWER,
    Action.POSTS_CHECK: Role.VIEWER,
    Action.POSTS_CREATE: Role.EDITOR,
    Action.POSTS_EDIT: Role.EDITOR,
    Action.POSTS_IMPORT: Role.EDITOR,
    Action.POSTS_SCHEDULE: Role.EDITOR,
    Action.POSTS_PUBLISH: Role.EDITOR,
    Action.POSTS_RETRY: Role.EDITOR,
    Action.POSTS_CANCEL: Role.EDITOR,
    Action.POSTS_DELETE_PUBLISHED: Role.EDITOR,
    Action.POSTS_APPROVE: Role.ADMIN,
    Action.ACCOUNTS_READ: Role.VIEWER,
    Action.ACCOUNTS_TEST: Role.VIEWER,
    Action.ACCOUNTS_CONNECT: Role.ADMIN,
    Action.ACCOUNTS_DISCONNECT: Role.ADMIN,
    Action.MEDIA_READ: Role.VIEWER,
    Action.MEDIA_UPLOAD: Role.EDITOR,
    Action.CONTENT_GENERATE: Role.EDITOR,
    Action.AI_READ: Role.VIEWER,
    Action.AI_CONFIGURE: Role.ADMIN,
    Action.ANALYTICS_READ: Role.VIEWER,
    Action.METRICS_COLLECT: Role.EDITOR,
    Action.EXPERIMENTS_READ: Role.VIEWER,
    Action.EXPERIMENTS_MANAGE: Role.EDITOR,
    Action.EXPERIMENTS_FINALISE: Role.EDITOR,
    Action.COMPETITORS_READ: Role.VIEWER,
    Action.COMPETITORS_MANAGE: Role.EDITOR,
    Action.CAMPAIGNS_PLAN: Role.EDITOR,
    Action.WEB_FETCH: Role.EDITOR,
    Action.AGENT_CHAT: Role.VIEWER,
    Action.AGENT_READ: Role.VIEWER,
    Action.PLUGINS_READ: Role.VIEWER,
    Action.WORKSPACE_READ: Role.VIEWER,
    Action.WORKSPACE_CONFIGURE: Role.ADMIN,
    Action.WORKSPACES_CREATE: Role.OWNER,
    Action.MEMBERS_READ: Role.VIEWER,
    Action.MEMBERS_MANAGE: Role.ADMIN,
    Action.APIKEYS_MANAGE: Role.ADMIN,
    Action.EVENTS_READ: Role.VIEWER,
    Action.NOTIFICATIONS_MARK: Role.EDITOR,
    Action.WEBHOOKS_READ: Role.ADMIN,
    Action.WEBHOOKS_MANAGE: Role.ADMIN,
    Action.TOOLS_READ: Role.VIEWER,
    Action.TOOLS_WRITE: Role.EDITOR,
    Action.TOOLS_PUBLIC: Role.EDITOR,
}

# Stricter on one surface than the table (never looser).
SURFACE_LEAST_ROLE: dict[tuple[str, Action], Role] = {
    ("slack", Action.POSTS_RETRY): Role.ADMIN,
    ("slack", Action.POSTS_DELETE_PUBLISHED): Role.ADMIN,
}

DESCRIPTIONS: dict[Action, str] = {
    Action.POSTS_READ: "read posts, the calendar, failed posts",
    Action.POSTS_CHECK: "check a text against platform rules",
    Action.POSTS_CREATE: "create posts and drafts",
    Action.POSTS_EDIT: "edit posts (text, variants, accounts, media)",
    Action.POSTS_IMPORT: "import posts from CSV",
    Action.POSTS_SCHEDULE: "schedule or reschedule posts",
    Action.POSTS_PUBLISH: "publish posts now",
    Action.POSTS_RETRY: "retry failed posts",
    Action.POSTS_CANCEL: "cancel posts",
    Action.POSTS_DELETE_PUBLISHED: "delete published posts from the platforms (admins where approval is required)",
    Action.POSTS_APPROVE: "approve or reject held posts",
    Action.ACCOUNTS_READ: "list accounts and their health",
    Action.ACCOUNTS_TEST: "test an account's connection",
    Action.ACCOUNTS_CONNECT: "connect or reconnect accounts",
    Action.ACCOUNTS_DISCONNECT: "disconnect accounts",
    Action.MEDIA_READ: "read media",
    Action.MEDIA_UPLOAD: "upload media",
    Action.CONTENT_GENERATE: "generate, adapt, optimise and score content and images with AI",
    Action.AI_READ: "read AI settings, usage and prompts",
    Action.AI_CONFIGURE: "change AI settings, keys and prompts",
    Action.ANALYTICS_READ: "read analytics, metrics and reports",
    Action.METRICS_COLLECT: "collect metrics now",
    Action.EXPERIMENTS_READ: "read A/B experiments",
    Action.EXPERIMENTS_MANAGE: "create A/B experiments",
    Action.EXPERIMENTS_FINALISE: "evaluate and finalise A/B experiments",
    Action.COMPETITORS_READ: "read competitors",
    Action.COMPETITORS_MANAGE: "add, refresh and remove competitors",
    Action.CAMPAIGNS_PLAN: "plan campaigns and turn them into drafts",
    Action.WEB_FETCH: "have the agent fetch a web page",
    Action.AGENT_CHAT: "chat with the agent (its tools check each action)",
    Action.AGENT_READ: "read agent conversations",
    Action.PLUGINS_READ: "list plugins",
    Action.WORKSPACE_READ: "read the workspace and its settings",
    Action.WORKSPACE_CONFIGURE: "change workspace settings",
    Action.WORKSPACES_CREATE: "create workspaces",
    Action.MEMBERS_READ: "list members",
    Action.MEMBERS_MANAGE: "add, change and remove members (never above one's own role)",
    Action.APIKEYS_MANAGE: "create, list and revoke API keys",
    Action.EVENTS_READ: "read the workspace's event stream and notifications",
    Action.NOTIFICATIONS_MARK: "mark notifications read (for the whole workspace)",
    Action.WEBHOOKS_READ: "list outbound webhooks and their delivery log",
    Action.WEBHOOKS_MANAGE: "add, change, rotate, ping, redeliver and remove outbound webhooks",
    Action.TOOLS_READ: "plugin agent tools that only read",
    Action.TOOLS_WRITE: "plugin agent tools that change OCMA",
    Action.TOOLS_PUBLIC: "plugin agent tools that reach the public (approval policy applies)",
}


def least_role(action: Action, surface: str | None = None) -> Role:
    """The least role that may do `action` (on `surface`, which may be stricter)."""
    base = LEAST_ROLE[action]
    stricter = SURFACE_LEAST_ROLE.get((surface or "", action))
    if stricter is not None and ROLE_RANK[stricter] > ROLE_RANK[base]:
        return stricter
    return base


def allowed(role: Role | str | None, action: Action, surface: str | None = None) -> bool:
    """True when `role` may do `action` (None: not a member, never allowed)."""
    if role is None:
        return False
    return ROLE_RANK[Role(role)] >= ROLE_RANK[least_role(action, surface)]


def check(role: Role | str | None, action: Action, surface: str | None = None) -> None:
    """Raise PermissionDenied unless `role` may do `action` (the one check every surface calls)."""
    if allowed(role, action, surface):
        return
    need = least_role(action, surface)
    have = (
        f"your role is {Role(role).value}" if role is not None else "you are not a member of this workspace"
    )
    raise PermissionDenied(
        f"{DESCRIPTIONS[action].capitalize()} ({action.value}) needs the {need.value} role; {have}.",
        fix=f"Ask an admin or owner for the {need.value} role, or to do it for you.",
    )
