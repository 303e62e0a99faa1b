"""What a card shows about a post, loaded from OCMA's database in one go (sync; call it off the event loop)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import select

from ocma_core.app import Ocma
from ocma_core.app.media import public_media_url
from ocma_core.app.models import Account, Media, Post, Target
from ocma_core.app.posts import check_targets, get_post, text_for


@dataclass
class TargetView:
    """One platform's version of the post with the platform's own validation."""

    account_id: str
    platform: str
    display: str
    handle: str
    text: str
    length: int
    limit: int
    unit: str
    problems: list[str]
    status: str
    url: str | None


@dataclass
class PostView:
    """A post as a card shows it."""

    id: str
    status: str
    scheduled_at: datetime | None
    timezone: str
    targets: list[TargetView]
    images: list[tuple[str, str]] = field(default_factory=list)  # (url, alt text)
    other_media: list[str] = field(default_factory=list)


def load_post_view(ocma: Ocma, workspace_id: str, post_id: str) -> PostView:
    """Load the post, its targets, per-platform texts and validation, and media preview URLs."""
    from ocma_core.app.accounts import get_platform

    post: Post = get_post(ocma, workspace_id, post_id)
    with ocma.session() as session:
        targets = list(session.exec(select(Target).where(Target.post_id == post.id)))
        accounts = {
            a.id: a for a in session.exec(select(Account).where(Account.workspace_id == workspace_id))
        }
        media = [session.get(Media, m) for m in post.media_ids]
    mine = [accounts[t.account_id] for t in targets if t.account_id in accounts]
    checks = {c.account_id: c for c in check_targets(ocma, workspace_id, post, mine)} if mine else {}
    views = []
    for target in targets:
        account = accounts.get(target.account_id)
        check = checks.get(target.account_id)
        if account is None or check is None:
            continue
        views.append(
            TargetView(
                account_id=account.id,
                platform=account.platform,
                display=get_platform(account.platform).display_name,
                handle=account.handle,
                text=text_for(post, account),
                length=check.length,
                limit=check.limit,
                unit=check.unit,
                problems=[p.get("message", p.get("code", "")) for p in check.problems],
                status=str(target.status),
                url=target.url,
            )
        )
    images, other = [], []
    for item in media:
        if item is None:
            continue
        if item.mime_type.startswith("image/"):
            images.append((public_media_url(ocma, item), item.alt_text or item.filename or "image"))
        else:
            other.append(f"{item.filename or item.id} ({item.mime_type})")
    return PostView(post.id, str(post.status), post.scheduled_at, post.timezone, views, images, other)
