"""Posts: read, approve, retry, cancel and delete posts and their per-account targets.

Part of the public app API (`ocma_core.app`): names here keep their meaning within a minor release."""

from __future__ import annotations

from ocma_core.services.deletion import delete_published, deletion_plan
from ocma_core.services.post_input import PostInput
from ocma_core.services.posts import (
    approve_post,
    cancel_post,
    check_targets,
    get_post,
    list_posts,
    post_summary,
    retry_post,
    targets_of,
    text_for,
)

__all__ = [
    "PostInput",
    "approve_post",
    "cancel_post",
    "check_targets",
    "delete_published",
    "deletion_plan",
    "get_post",
    "list_posts",
    "post_summary",
    "retry_post",
    "targets_of",
    "text_for",
]
