"""SQLModel tables of the OCMA domain (ARCHITECTURE §4). Secrets live only in *_enc columns, encrypted."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from ocma_core.db.types import StrEnum, UTCDateTime, new_id, utcnow


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _json(default: Any = dict) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


def _metrics_json() -> Any:
    # JSONB on PostgreSQL: analytics reads a few numbers out of hundreds of thousands of snapshots, and
    # `->>` on json re-parses the whole text for each number read.
    return Field(
        default_factory=dict, sa_column=Column(JSON().with_variant(JSONB(), "postgresql"), nullable=False)
    )


class Role(enum.StrEnum):
    """Member and API-key roles, most to least powerful."""

    OWNER = "owner"
    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"


ROLE_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2, Role.OWNER: 3}


class AccountStatus(enum.StrEnum):
    """Health of a connected account."""

    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"
    DISCONNECTED = "disconnected"


class PostStatus(enum.StrEnum):
    """Lifecycle of a post."""

    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    PARTIALLY_PUBLISHED = "partially_published"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DELETED = "deleted"  # every published target was deleted from its platform (services/deletion.py)


class TargetStatus(enum.StrEnum):
    """Lifecycle of one post x account target."""

    DRAFT = "draft"
    QUEUED = "queued"
    PUBLISHING = "publishing"
    UNCONFIRMED = "unconfirmed"
    PENDING = "pending"  # accepted, platform still processing (e.g. video)
    HELD = "held"  # waiting for the account to be reconnected
    PUBLISHED = "published"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DELETED = "deleted"  # published, then deleted from the platform (every part of it)


class Workspace(SQLModel, table=True):
    """A tenant: its members, accounts and posts are invisible to other workspaces."""

    id: str = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=200)
    timezone: str = Field(default="UTC", max_length=64)
    settings: dict[str, Any] = _json()
    created_at: datetime = _created()


class Member(SQLModel, table=True):
    """A person in a workspace, with a role."""

    __table_args__ = (UniqueConstraint("workspace_id", "email"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True)
    email: str | None = Field(default=None, max_length=320)  # None: known only by an external id
    name: str = Field(default="", max_length=200)
    role: Role = Field(default=Role.EDITOR, sa_type=StrEnum(Role))
    external_ids: dict[str, Any] = _json()  # e.g. {"slack": "U123"}
    created_at: datetime = _created()


class ApiKey(SQLModel, table=True):
    """An API key; only its SHA-256 hash is stored."""

    id: str = Field(default_factory=new_id, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True)
    key_id: str = Field(max_length=32, unique=True, index=True)
    key_hash: str = Field(max_length=64)
    name: str = Field(default="", max_length=200)
    role: Role = Field(default=Role.EDITOR, sa_type=StrEnum(Role))
    created_at: datetime = _created()
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Account(SQLModel, table=True):
    """A connected social account; tokens are encrypted."""

    # An account is its id on one host of its platform: two Mastodon instances may both have an account 7.
    __table_args__ = (
        UniqueConstraint("workspace_id", "platform", "host", "external_id", name="uq_account_identity"),
    )
    id: str = Field(default_factory=new_id, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True)
    platform: str = Field(max_length=64, index=True)
    host: str = Field(default="", max_length=255)  # Profile.host: e.g. a Mastodon instance's domain
    external_id: str = Field(max_length=255)
    handle: str = Field(max_length=255)
    display_name: str = Field(default="", max_length=255)
    status: AccountStatus = Field(default=AccountStatus.CONNECTED, sa_type=StrEnum(AccountStatus))
    access_token_enc: str = Field(sa_type=Text)
    refresh_token_enc: str | None = Field(default=None, sa_type=Text)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    refresh_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    scopes: list[str] = _json(list)
    settings: dict[str, Any] = _json()  # non-secret: instance URL, PDS host, author type, queue slots
    token_version: int = Field(default=0)  # bumped on every refresh, for optimistic locking
    refresh_lock_until: datetime | None = Field(default=None, sa_type=UTCDateTime)  # refresh lease
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class OAuthState(SQLModel, table=True):
    """A pending OAuth authorisation: single use, expiring; the PKCE verifier is encrypted."""

    id: str = Field(primary_key=True, max_length=64)  # SHA-256 of the state value sent to the platform
    workspace_id: str = Field(foreign_key="workspace.id", index=True)
    platform: str = Field(max_length=64)
    verifier_enc: str | None = Field(default=None, sa_type=Text)
    redirect_uri: str = Field(sa_type=Text)
    created_at: datetime = _created()
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # SHA-256 of the nonce in the cookie of the browser that opened OCMA's start link (bound once).
    browser_hash: str | None = Field(default=None, max_length=64)


class Media(SQLModel, table=True):
    """A stored file, kept once per workspace by content hash."""

    __table_args__ = (UniqueConstraint("workspace_id", "sha256"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True)
    sha256: str = Field(max_length=64)
    mime_type: str = Field(max_length=100)
    size: int
    filename: str = Field(default="", max_length=255)
    storage_key: str = Field(sa_type=Text)
    width: int | None = None
    height: int | None = None
    alt_text: str = Field(default="", sa_type=Text)
    meta: dict[str, Any] = _json()  # e.g. prompt, model, cost of a generated image
    created_at: datetime = _created()


class Post(SQLModel, table=True):
    """What to publish, when, and to which accounts (one Target each)."""

    # Serves the listing's order (services/posts.list_posts); migration 0011.
    __table_args__ = (
        Index(
            "ix_post_listing_keyset",
            "workspace_id",
            text("(scheduled_at IS NULL)"),
            "scheduled_at",
            "created_at",
            "id",
        ),
    )
    id: str = Field(default_factory=new_id, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True)
    body: str = Field(default="", sa_type=Text)
    media_ids: list[str] = _json(list)
    variants: dict[str, Any] = _json()  # platform or account id -> text
    thread: list[str] = _json(list)
    options: dict[str, Any] = _json()
    status: PostStatus = Field(default=PostStatus.DRAFT, sa_type=StrEnum(PostStatus), index=True)
    scheduled_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    timezone: str = Field(default="UTC", max_length=64)
    recurrence: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    parent_id: str | None = Field(default=None, index=True)  # the recurring post this one came from
    # SHA-256 of the content an approver approved (services/approval.py); None until someone approves it.
    approved_hash: str | None = Field(default=None, max_length=64)
    # Where outside text in this post came from (fetched pages, platform content): set when the agent writes it
    # in a turn that read such text, emptied when a person edits or approves it (ocma_core.services.taint).
    untrusted_sources: list[str] = _json(list)
    created_by: str = Field(default="", max_length=255)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class Target(SQLModel, table=True):
    """One post on one account: the unit the engine publishes exactly once."""

    __table_args__ = (
        UniqueConstraint("post_id", "account_id"),
        Index("ix_target_due", "status", "due_at"),
    )
    id: str = Field(default_factory=new_id, primary_key=True)
    post_id: str = Field(foreign_key="post.id", index=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True)
    account_id: str = Field(foreign_key="account.id", index=True)
    platform: str = Field(max_length=64)
    status: TargetStatus = Field(default=TargetStatus.DRAFT, sa_type=StrEnum(TargetStatus))
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=255)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    unconfirmed_since: datetime | None = Field(default=None, sa_type=UTCDateTime)  # look before retrying
    external_id: str | None = Field(default=None, max_length=512)
    # Every platform id of what was published, first part first (a thread has one per part); [] when
    # published before OCMA kept them (then only external_id is known).
    part_ids: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    url: str | None = Field(default=None, sa_type=Text)
    last_error: str | None = Field(default=None, sa_type=Text)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The request id (and W3C traceparent) that created or re-queued it, so the worker logs and traces under
    # them (ocma_core.observe.origin fills it).
    origin: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    updated_at: datetime = _created()


class PublishAttempt(SQLModel, table=True):
    """An audit record of one call to a platform for a target."""

    id: str = Field(default_factory=new_id, primary_key=True)
    target_id: str = Field(foreign_key="target.id", index=True)
    # publish, find_published, check_pending, refresh, delete
    action: str = Field(default="publish", max_length=32)
    outcome: str = Field(
        max_length=32
    )  # published, rate_limited, auth_expired, rejected, transient, unconfirmed
    http_status: int | None = None
    error: str | None = Field(default=None, sa_type=Text)
    request_summary: str = Field(default="", sa_type=Text)
    worker: str = Field(default="", max_length=255)
    started_at: datetime = _created()
    duration_ms: float = 0.0


class PostMetricSnapshot(SQLModel, table=True):
    """Metrics of one published target at one time, as the platform named them."""

    __table_args__ = (Index("ix_postmetric_target_time", "target_id", "fetched_at"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    target_id: str = Field(foreign_key="target.id")
    account_id: str = Field(foreign_key="account.id", index=True)
    platform: str = Field(max_length=64)
    fetched_at: datetime = _created()
    values: dict[str, Any] = _metrics_json()
    unavailable: list[str] = _json(list)
    source: str = Field(default="poll", max_length=32)  # poll, webhook, backfill


class AccountMetricSnapshot(SQLModel, table=True):
    """Metrics of one account (followers, ...) at one time."""

    __table_args__ = (Index("ix_accountmetric_account_time", "account_id", "fetched_at"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    account_id: str = Field(foreign_key="account.id")
    platform: str = Field(max_length=64)
    fetched_at: datetime = _created()
    values: dict[str, Any] = _metrics_json()
    unavailable: list[str] = _json(list)


class Notification(SQLModel, table=True):
    """A stored domain event (post.published, post.failed, account.needs_reconnect, ...): the event log."""

    __table_args__ = (
        Index("ux_notification_workspace_seq", "workspace_id", "seq", unique=True),
        # The feed's unread count and unread pages (services/notifications); migration 0018.
        Index(
            "ix_notification_unread",
            "workspace_id",
            "seq",
            postgresql_where=text("read_at IS NULL"),
            sqlite_where=text("read_at IS NULL"),
        ),
    )

    id: str = Field(default_factory=new_id, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True)
    kind: str = Field(max_length=64, index=True)
    payload: dict[str, Any] = _json()
    created_at: datetime = _created()
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    seq: int | None = Field(default=None, sa_type=BigInteger)  # the workspace's event sequence id


class Conversation(SQLModel, table=True):
    """An agent conversation, one per thread (Slack thread, CLI session, API thread id)."""

    __table_args__ = (UniqueConstraint("workspace_id", "thread_key"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True)
    thread_key: str = Field(max_length=255)
    summary: str = Field(default="", sa_type=Text)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class ConversationMessage(SQLModel, table=True):
    """One message of a conversation: user, assistant, tool call or tool result."""

    id: str = Field(default_factory=new_id, primary_key=True)
    conversation_id: str = Field(foreign_key="conversation.id", index=True)
    role: str = Field(max_length=32)
    content: dict[str, Any] = _json()
    created_at: datetime = _created()


class AIUsage(SQLModel, table=True):
    """Tokens and cost of one AI call."""

    id: str = Field(default_factory=new_id, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True)
    provider: str = Field(max_length=64)
    model: str = Field(max_length=255)
    kind: str = Field(default="text", max_length=32)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    cost_source: str = Field(default="", max_length=64)  # "litellm price table", "configured price", ...
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class WorkerHeartbeat(SQLModel, table=True):
    """The last time each worker polled for work."""

    id: str = Field(primary_key=True, max_length=255)
    hostname: str = Field(default="", max_length=255)
    pid: int = 0
    kind: str = Field(default="worker", max_length=32)  # worker or embedded
    started_at: datetime = _created()
    last_seen: datetime = _created()
    jobs_done: int = 0


class OnceClaim(SQLModel, table=True):
    """A key claimed once across processes until it expires (services/once.py, when Redis is not used)."""

    key: str = Field(primary_key=True, max_length=255)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    created_at: datetime = _created()


class Installation(SQLModel, table=True):
    """Facts about this installation; key "id" is its identity, which namespaces its Redis keys."""

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=255)
    created_at: datetime = _created()


# The analytics tables live in their own module; importing it adds them to the metadata.
from ocma_core.db import analytics_models as analytics_models  # noqa: E402
from ocma_core.db import click_models as click_models  # noqa: E402
from ocma_core.db import event_models as event_models  # noqa: E402
