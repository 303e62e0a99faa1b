"""The stored records a client reads (rows of OCMA"s database) and the UTC clock they use.

Part of the public app API (`ocma_core.app`): names here keep their meaning within a minor release."""

from __future__ import annotations

from ocma_core.db.models import (
    ROLE_RANK,
    Account,
    Conversation,
    ConversationMessage,
    Media,
    Member,
    Post,
    PostMetricSnapshot,
    PostStatus,
    Role,
    Target,
    TargetStatus,
    Workspace,
)
from ocma_core.db.types import utcnow

__all__ = [
    "ROLE_RANK",
    "Account",
    "Conversation",
    "ConversationMessage",
    "Media",
    "Member",
    "Post",
    "PostMetricSnapshot",
    "PostStatus",
    "Role",
    "Target",
    "TargetStatus",
    "Workspace",
    "utcnow",
]
