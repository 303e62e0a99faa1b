"""The posts listing: filters, the calendar's order, and keyset cursors so a deep page costs what the first does.

Order: scheduled posts by `scheduled_at`, then unscheduled ones (drafts) by `created_at`; `id` breaks ties. A
cursor names the last post of a page; the next page starts after it, read through the `ix_post_listing`
index (`ix_post_listing_keyset`) instead of skipping `offset` rows.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Tuple, false, literal, true, tuple_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from ocma_core.context import Ocma
from ocma_core.db.models import Post, Target, Workspace
from ocma_core.services.paging import bad_cursor, next_page_cursor


def _unscheduled() -> ColumnElement[bool]:
    """`(scheduled_at IS NULL)`, written as the listing index's expression so the database matches it."""
    return col(Post.scheduled_at).is_(None).self_group()


# The order of ix_post_listing_keyset: each page, and each cursor's range, is read straight from the index.
ORDER = (_unscheduled(), col(Post.scheduled_at), col(Post.created_at), col(Post.id))


_COLUMNS: tuple[ColumnElement[Any], ...] = tuple(
    cast(ColumnElement[Any], col(c)) for c in (Post.scheduled_at, Post.created_at, Post.id)
)


def _key_values(*values: object, skip: int = 0) -> Tuple:
    """A cursor's values bound with their columns' types (times stored as the columns store them)."""
    return tuple_(*(literal(v, c.type) for v, c in zip(values, _COLUMNS[skip:], strict=True)))


def cursor_after(post: Post) -> str:
    """The opaque cursor that continues a listing after `post`."""
    key = [post.scheduled_at.isoformat() if post.scheduled_at else None, post.created_at.isoformat(), post.id]
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def _aware(value: str) -> datetime:
    """An ISO time in UTC (converted here, so a time that overflows when converted is refused, not a 500)."""
    when = datetime.fromisoformat(value)
    return when.astimezone(UTC) if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _read_cursor(cursor: str) -> tuple[datetime | None, datetime, str]:
    """(scheduled_at, created_at, id) of the post a cursor names, or a ValidationFailed naming `after`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        scheduled, created, post_id = json.loads(raw)
        if not all(isinstance(v, str) and "\x00" not in v for v in (created, post_id, scheduled or "")):
            raise ValueError("not three strings without NUL")
        return (
            _aware(scheduled) if scheduled else None,
            _aware(created),
            post_id,
        )
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, OverflowError) as exc:
        raise bad_cursor(f"cannot be read ({type(exc).__name__})", "`next_cursor`") from None


def _filtered(
    session: Session,
    workspace_id: str,
    start: datetime | None,
    end: datetime | None,
    status: str | None,
    account_id: str | None,
) -> SelectOfScalar[Post]:
    if (start is not None and start.tzinfo is None) or (end is not None and end.tzinfo is None):
        from ocma_core.services.posts import _window_edge

        workspace = session.get(Workspace, workspace_id)
        zone = workspace.timezone if workspace else "UTC"
        start, end = _window_edge(start, zone, "start"), _window_edge(end, zone, "end")
    query = select(Post).where(Post.workspace_id == workspace_id)
    if start is not None:
        query = query.where(col(Post.scheduled_at) >= start)
    if end is not None:
        query = query.where(col(Post.scheduled_at) < end)
    if status:
        query = query.where(Post.status == status)
    if account_id:
        query = query.where(_of_account(session, account_id))
    return query


# An account with more targets than this is filtered by EXISTS while the listing's index is read in order (its
# posts are dense: a page is found after a few hundred rows); a smaller one by IN over its target list, which
# then stays short. Either alone grows with the backlog for the other kind of account.
DENSE_ACCOUNT_TARGETS = 2000


def _of_account(session: Session, account_id: str) -> ColumnElement[bool]:
    """`post has a target of account_id`, written for the account's size (one bounded index probe decides)."""
    of_account = select(Target.post_id).where(Target.account_id == account_id)
    dense = session.exec(
        select(Target.account_id)  # read from the account index alone
        .where(Target.account_id == account_id)
        .offset(DENSE_ACCOUNT_TARGETS)
        .limit(1)
    ).first()
    if dense is None:
        return col(Post.id).in_(of_account)
    return of_account.where(col(Target.post_id) == col(Post.id)).exists()


def list_posts(
    ocma: Ocma,
    workspace_id: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    status: str | None = None,
    account_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
    after: str | None = None,
) -> list[Post]:
    """Posts by schedule window, status and account, soonest first, then drafts (a window edge without an
    offset is read in the workspace's timezone, as post times are); `after` is a cursor from `cursor_after`."""
    key = _read_cursor(after) if after else None
    with ocma.session() as session:
        query = _filtered(session, workspace_id, start, end, status, account_id)
        if key is None:
            return list(session.exec(query.order_by(*ORDER).offset(offset).limit(limit)))
        return _after(session, query, key, limit)


def _after(
    session: Session, query: SelectOfScalar[Post], key: tuple[datetime | None, datetime, str], limit: int
) -> list[Post]:
    """The page after `key`: the rest of the scheduled posts, then (when the page has room) the drafts."""
    scheduled, created, post_id = key
    found: list[Post] = []
    # Each part fixes the index's leading terms by equality and orders by the rest only: SQLite does not see
    # that `(scheduled_at IS NULL) = 0` makes that ORDER BY term constant, and with it sorted every row after
    # the cursor (the second page of 1M scheduled posts took 750 ms; by the index, well under 1 ms).
    if scheduled is not None:
        later = tuple_(*_COLUMNS) > _key_values(scheduled, created, post_id)
        found = list(
            session.exec(query.where(_unscheduled() == false(), later).order_by(*ORDER[1:]).limit(limit))
        )
    if len(found) < limit:
        # `scheduled_at IS NULL` too: an equality on the index's scheduled_at, so (created_at, id) follows.
        drafts = query.where(_unscheduled() == true(), col(Post.scheduled_at).is_(None))
        if scheduled is None:
            drafts = drafts.where(tuple_(*_COLUMNS[1:]) > _key_values(created, post_id, skip=1))
        found += session.exec(drafts.order_by(*ORDER[2:]).limit(limit - len(found)))
    return found


def page_cursor(found: list[Post], limit: int) -> str | None:
    """The cursor of the next page, or None when this page was the last (it had fewer than `limit` posts)."""
    return next_page_cursor(found, limit, cursor_after)


__all__ = ["cursor_after", "list_posts", "page_cursor"]
