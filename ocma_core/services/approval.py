"""Approval binds to the exact content reviewed.

`content_hash` is the SHA-256 of what an approver sees: body, media (by content hash), per-platform variants,
thread, options, the accounts it goes to and, for each, what of the account's settings decides where or as
what it goes out (`Platform.destination`, e.g. Pinterest's default board). `approve_post` stores it on the
post; a post that needs approval (the workspace requires it, the agent held it, or it was approved before) is
queued only while its content still hashes to the stored value, so an edit after approval, a retry of an
edited post, or a changed destination (another default board) goes back to pending approval.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlmodel import Session, col, select

from ocma_core.context import Ocma
from ocma_core.db.models import ROLE_RANK, Account, Media, Post, Role, Target, Workspace
from ocma_core.errors import PermissionDenied, UnknownPlatformError
from ocma_core.platforms import PostContent
from ocma_core.registry import get_platform


def content_hash(session: Session, post: Post) -> str:
    """SHA-256 of the post's reviewable content and targets."""
    media: dict[str, str] = {}
    if post.media_ids:
        rows = session.exec(select(Media).where(col(Media.id).in_(list(post.media_ids))))
        media = {m.id: m.sha256 for m in rows}
    ids = sorted(t.account_id for t in session.exec(select(Target).where(Target.post_id == post.id)))
    reviewed: dict[str, Any] = {
        "body": post.body,
        "media": [[m, media.get(m, "")] for m in post.media_ids],
        "variants": post.variants,
        "thread": post.thread,
        "options": post.options,
        "accounts": ids,
    }
    destinations = _destinations(session, post, ids)
    if destinations:  # only when a platform names one: other posts keep the hashes approved before
        reviewed["destinations"] = destinations
    encoded = json.dumps(reviewed, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _destinations(session: Session, post: Post, account_ids: list[str]) -> dict[str, Any]:
    """Per account, what its platform says decides where the post goes beyond its content (may be none)."""
    found: dict[str, Any] = {}
    if not account_ids:
        return found
    for account in session.exec(select(Account).where(col(Account.id).in_(account_ids))):
        try:
            platform = get_platform(account.platform)
        except UnknownPlatformError:
            continue  # not installed here: nothing can be published there either
        text = post.variants.get(account.id) or post.variants.get(account.platform) or post.body
        content = PostContent(text=text, options=dict(post.options.get(account.platform, {})))
        destination = platform.destination(content, account.settings)
        if destination:
            found[account.id] = destination
    return found


def needs_approval(workspace: Workspace, post: Post, *, hold: bool = False) -> bool:
    """True when the post may go out only as approved: required by the workspace, held by the caller (the
    agent's policy), or approved once already (then every change needs approval again)."""
    return bool(hold or workspace.settings.get("approval_required") or post.approved_hash is not None)


def is_approved(session: Session, post: Post) -> bool:
    """True when an approval exists and still matches the post's content."""
    return post.approved_hash is not None and post.approved_hash == content_hash(session, post)


def approve(session: Session, post: Post) -> None:
    """Record that the post's current content is approved (a person reviewed it: no longer outside text)."""
    session.flush()
    post.approved_hash = content_hash(session, post)
    post.untrusted_sources = []


def require_delete_approval(ocma: Ocma, workspace_id: str, role: Role) -> None:
    """Where approval is required, deleting published posts is an approver's act (admin or owner), as
    publishing is; PermissionDenied for anyone else."""
    with ocma.session() as session:
        workspace = session.get(Workspace, workspace_id)
        required = bool(workspace is not None and workspace.settings.get("approval_required"))
    if required and ROLE_RANK[role] < ROLE_RANK[Role.ADMIN]:
        raise PermissionDenied(
            "This workspace requires approval: deleting a published post is for an admin or owner.",
            fix="Ask an admin or owner to delete it.",
        )
