"""Approvals: what needs a person"s yes before it reaches the public, and deciding held posts.

Part of the public app API (`ocma_core.app`): names here keep their meaning within a minor release."""

from __future__ import annotations

from ocma_core.services.approval import require_delete_approval
from ocma_core.services.held import decide_held
from ocma_core.services.posts import approve_post

__all__ = ["approve_post", "decide_held", "require_delete_approval"]
