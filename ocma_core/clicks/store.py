"""Storing one verified click delivery: attribution to posts, clicks per day and UTM values, each post's
cumulative clicks as a snapshot with its `metrics.updated` event, and the delivery's webhook-id claimed in
the same transaction (a repeat of the id stores nothing)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from ocma_core.clicks.payload import Click, Invalid
from ocma_core.context import Ocma
from ocma_core.db.click_models import CLICKDAY_KEY, ClickDay, ClickHook, PostClickSnapshot
from ocma_core.db.models import OnceClaim, Post, Workspace
from ocma_core.db.types import utcnow
from ocma_core.events import Event, dispatch, record

KEEP_IDS = timedelta(days=7)  # a webhook-id seen in the last week is a repeat (senders retry for days)
METRIC = "link_clicks"  # ocma_core.analytics.vocabulary.MEASURED_POST_METRICS


@dataclass(frozen=True)
class Stored:
    """What one delivery did."""

    duplicate: bool
    events: int = 0
    clicks: int = 0
    attributed: int = 0  # clicks attributed to a post
    posts: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The JSON answer to the sender."""
        return {
            "received": True,
            "duplicate": self.duplicate,
            "events": self.events,
            "clicks": self.clicks,
            "attributed": self.attributed,
            "posts": list(self.posts),
        }


Key = tuple[date, str, str, str, str, str]  # day, campaign, source, medium, content, post id


def store(ocma: Ocma, workspace_id: str, webhook_id: str, clicks: list[Click]) -> Stored:
    """Store a validated delivery once per webhook-id; Invalid when a named post is not the workspace's."""
    events: list[Event] = []
    with ocma.session() as session:
        if not _claim(session, f"clicks:{workspace_id}:{webhook_id}"):
            return Stored(duplicate=True)
        zone = ZoneInfo(_timezone(session, workspace_id))
        owners = _attribute(session, workspace_id, clicks)
        posts = sorted({p for p in owners if p})
        _lock(session, posts)
        totals: Counter[Key] = Counter()
        for click, post_id in zip(clicks, owners, strict=True):
            day = click.occurred_at.astimezone(zone).date()
            key = (day, click.utm_campaign, click.utm_source, click.utm_medium, click.utm_content, post_id)
            totals[key] += click.count
        now = utcnow()
        for key, count in totals.items():
            _add(session, workspace_id, key, count, now)
        for post_id in posts:
            events += _snapshot(session, workspace_id, post_id, now)
        hook = session.get(ClickHook, workspace_id)
        if hook is not None:
            hook.last_delivery_at = now
            session.add(hook)
    for event in events:
        dispatch(event, ocma)
    attributed = sum(c.count for c, p in zip(clicks, owners, strict=True) if p)
    return Stored(False, len(clicks), sum(c.count for c in clicks), attributed, tuple(posts))


def _timezone(session: Session, workspace_id: str) -> str:
    workspace = session.get(Workspace, workspace_id)
    return workspace.timezone if workspace is not None else "UTC"


def _lock(session: Session, post_ids: list[str]) -> None:
    """Lock the posts' rows (in id order) until commit: concurrent deliveries for one post then sum and
    snapshot its clicks one after the other, so each snapshot's total counts every delivery before it."""
    if post_ids and session.get_bind().dialect.name == "postgresql":
        session.exec(
            select(Post.id).where(col(Post.id).in_(post_ids)).order_by(col(Post.id)).with_for_update()
        ).all()


def _claim(session: Session, key: str) -> bool:
    """Claim the delivery's id in this transaction: False when it was taken (and has not expired)."""
    from ocma_core.eventlog import insert_for

    now = utcnow()
    session.execute(delete(OnceClaim).where(col(OnceClaim.key) == key, col(OnceClaim.expires_at) <= now))
    table = OnceClaim.__table__  # type: ignore[attr-defined]
    claimed = session.execute(
        insert_for(session, table)
        .values(key=key, expires_at=now + KEEP_IDS, created_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(table.c.key)
    ).first()
    return claimed is not None


def _attribute(session: Session, workspace_id: str, clicks: list[Click]) -> list[str]:
    """The post of each click ("" for none): its post_id (which must be the workspace's post), else its
    utm_content when that is one of the workspace's post ids."""
    wanted = {c.post_id for c in clicks if c.post_id} | {c.utm_content for c in clicks if c.utm_content}
    known: set[str] = set()
    if wanted:
        known = set(
            session.exec(
                select(Post.id).where(col(Post.workspace_id) == workspace_id, col(Post.id).in_(wanted))
            ).all()
        )
    problems = [
        f"events[{i}].post_id: no post {c.post_id} in this workspace"
        for i, c in enumerate(clicks)
        if c.post_id and c.post_id not in known
    ]
    if problems:
        raise Invalid(problems)
    return [c.post_id or (c.utm_content if c.utm_content in known else "") for c in clicks]


def _add(session: Session, workspace_id: str, key: Key, count: int, now: Any) -> None:
    """Add `count` to the day's row of these UTM values and post (created at the first click)."""
    from ocma_core.db.types import new_id
    from ocma_core.eventlog import insert_for

    table = ClickDay.__table__  # type: ignore[attr-defined]
    day, campaign, source, medium, content, post_id = key
    statement = insert_for(session, table).values(
        id=new_id(),
        workspace_id=workspace_id,
        day=day,
        utm_campaign=campaign,
        utm_source=source,
        utm_medium=medium,
        utm_content=content,
        post_id=post_id,
        clicks=count,
        updated_at=now,
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=list(CLICKDAY_KEY),
            set_={"clicks": table.c.clicks + statement.excluded.clicks, "updated_at": now},
        )
    )


def _snapshot(session: Session, workspace_id: str, post_id: str, now: Any) -> list[Event]:
    """A snapshot of the post's cumulative clicks, and its metrics.updated event (when the total moved)."""
    total = int(
        session.exec(
            select(func.coalesce(func.sum(ClickDay.clicks), 0)).where(
                col(ClickDay.workspace_id) == workspace_id, col(ClickDay.post_id) == post_id
            )
        ).one()
    )
    previous = session.exec(
        select(PostClickSnapshot.values)
        .where(col(PostClickSnapshot.post_id) == post_id)
        .order_by(col(PostClickSnapshot.fetched_at).desc(), col(PostClickSnapshot.id).desc())
        .limit(1)
    ).first()
    before = previous.get(METRIC) if isinstance(previous, dict) else None
    if before == total:
        return []
    session.add(
        PostClickSnapshot(workspace_id=workspace_id, post_id=post_id, fetched_at=now, values={METRIC: total})
    )
    payload: dict[str, Any] = {
        "scope": "link_clicks",
        "post_id": post_id,
        "fetched_at": now.isoformat(),
        "values": {METRIC: total},
        "delta": {METRIC: total - before} if isinstance(before, int) else {},
    }
    if before is None:
        payload["first"] = True
    return [record(session, Event("metrics.updated", workspace_id, payload))]
