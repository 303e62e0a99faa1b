"""Notifications: the workspace's event log read as a feed with read state (`GET /v1/notifications`, `ocma
notifications`, the Slack bot's "notifications").

Read state is per workspace, not per person: each stored event has one `read_at`, so when one member marks a
notification read it is read for everyone in the workspace. Pages are keyset pages on the sequence id, so
every notification is listed once, in order, however the log grows between pages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, update
from sqlmodel import col, select

from ocma_core.context import Ocma
from ocma_core.db.models import Notification
from ocma_core.db.types import utcnow
from ocma_core.errors import ValidationFailed
from ocma_core.services.paging import bad_cursor, next_page_cursor

MAX_LIMIT = 200
MAX_IDS = 500
MAX_KINDS = 50
MAX_SEQ = 2**62
# A kind (post.published) or a prefix of kinds (post.*, webhook.stripe.*).
_KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?$")


@dataclass(frozen=True)
class KindFilter:
    """Kinds to list: exact names and prefixes (`post.*` is the prefix `post.`); empty: every kind."""

    exact: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()

    def condition(self) -> ColumnElement[bool] | None:
        """The WHERE clause of the filter, or None when it lets every kind through."""
        kind = col(Notification.kind)
        terms: list[ColumnElement[bool]] = [kind.startswith(p, autoescape=True) for p in self.prefixes]
        if self.exact:
            terms.append(kind.in_(self.exact))
        return or_(*terms) if terms else None


def parse_kinds(text: str) -> KindFilter:
    """The filter of a comma-separated list of kinds and `prefix.*` patterns, or a ValidationFailed naming
    each entry that is neither."""
    names = [k.strip() for k in text.split(",") if k.strip()]
    bad = [n for n in names if not _KIND.match(n) or n == ".*"]
    if bad or len(names) > MAX_KINDS:
        shown = ", ".join(repr(b[:70]) for b in bad[:5]) or f"{len(names)} kinds"
        raise ValidationFailed(
            f"`kind` has entries that are not event kinds: {shown}.",
            problems=[{"field": "kind", "message": f"not a kind or prefix: {b[:70]!r}"} for b in bad[:5]]
            or [{"field": "kind", "message": f"at most {MAX_KINDS} kinds"}],
            fix="Pass kinds like post.published,metrics.updated or a prefix like post.* (docs/events.md).",
        )
    return KindFilter(
        exact=tuple(n for n in names if not n.endswith(".*")),
        prefixes=tuple(n[:-1] for n in names if n.endswith(".*")),
    )


def read_cursor(after: str | None) -> int | None:
    """The sequence id a page cursor names, or a ValidationFailed naming `after`."""
    if after is None or after == "":
        return None
    if not (after.isascii() and after.isdigit() and len(after) <= 19 and int(after) <= MAX_SEQ):
        raise bad_cursor("not a sequence id", "X-Next-Cursor")
    return int(after)


def list_notifications(
    ocma: Ocma,
    workspace_id: str,
    *,
    unread: bool = False,
    kinds: KindFilter = KindFilter(),
    after: int | None = None,
    limit: int = 50,
    oldest_first: bool = False,
) -> list[Notification]:
    """One page of the workspace's notifications, newest first (or oldest first), after the cursor `after`
    (a sequence id: below it newest first, above it oldest first)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(
            f"`limit` is 1 to {MAX_LIMIT}.",
            problems=[{"field": "limit", "message": f"{limit} is out of range"}],
            fix=f"Ask for at most {MAX_LIMIT} a page and follow X-Next-Cursor.",
        )
    seq = col(Notification.seq)
    query = select(Notification).where(Notification.workspace_id == workspace_id, seq.is_not(None))
    if unread:
        query = query.where(col(Notification.read_at).is_(None))
    where = kinds.condition()
    if where is not None:
        query = query.where(where)
    if after is not None:
        query = query.where(seq > after if oldest_first else seq < after)
    query = query.order_by(seq if oldest_first else seq.desc()).limit(limit)
    with ocma.session() as session:
        rows = list(session.exec(query))
        for row in rows:
            session.expunge(row)
    return rows


def next_cursor(page: Sequence[Notification], limit: int) -> str | None:
    """The cursor of the next page, or None when this page was the last (fewer than `limit`)."""
    return next_page_cursor(page, limit, lambda row: str(row.seq))


def unread_count(ocma: Ocma, workspace_id: str) -> int:
    """How many of the workspace's notifications are unread."""
    with ocma.session() as session:
        found = session.exec(
            select(func.count())
            .select_from(Notification)
            .where(Notification.workspace_id == workspace_id, col(Notification.read_at).is_(None))
        ).one()
    return int(found)


def mark_read(
    ocma: Ocma,
    workspace_id: str,
    *,
    ids: Sequence[str] = (),
    up_to_seq: int | None = None,
    now: datetime | None = None,
) -> int:
    """Mark the notifications `ids`, or every one up to and including `up_to_seq`, read; how many were unread.

    All or nothing: an id that is not one of the workspace's notifications refuses the whole request (naming
    it) and marks nothing. Already-read notifications keep the time they were first read."""
    if (not ids) == (up_to_seq is None):
        raise ValidationFailed(
            "Give either `ids` or `up_to_seq`.",
            problems=[{"field": "ids", "message": "give ids or up_to_seq, not both or neither"}],
            fix='Send {"ids": ["..."]} to mark some, or {"up_to_seq": N} to mark everything up to N.',
        )
    wanted = list(dict.fromkeys(ids))
    if len(wanted) > MAX_IDS:
        raise ValidationFailed(
            f"At most {MAX_IDS} ids at a time.",
            problems=[{"field": "ids", "message": f"{len(wanted)} ids"}],
            fix="Mark them in smaller batches, or everything up to a sequence id with up_to_seq.",
        )
    stamp = now or utcnow()
    unread = col(Notification.read_at).is_(None)
    mine = col(Notification.workspace_id) == workspace_id
    with ocma.session() as session:
        if wanted:
            found = set(session.exec(select(Notification.id).where(mine, col(Notification.id).in_(wanted))))
            missing = [i for i in wanted if i not in found]
            if missing:
                raise ValidationFailed(
                    f"Not notifications of this workspace: {', '.join(m[:64] for m in missing[:10])}.",
                    problems=[{"field": "ids", "message": f"unknown id {m[:64]!r}"} for m in missing[:10]],
                    fix="Pass ids of notifications listed for this workspace; nothing was marked.",
                )
            which: Any = col(Notification.id).in_(wanted)
        else:
            which = col(Notification.seq) <= up_to_seq
        done = session.execute(
            update(Notification)
            .where(mine, unread, which)
            .values(read_at=stamp)
            .execution_options(synchronize_session=False)
        )
    return int(getattr(done, "rowcount", 0) or 0)


def as_dict(row: Notification) -> dict[str, Any]:
    """A notification as JSON-ready data: the event (as the stream sends it) with its read state."""
    return {
        "id": row.id,
        "event_id": f"evt_{row.workspace_id}_{row.seq}",
        "seq": row.seq,
        "kind": row.kind,
        "at": row.created_at.isoformat(),
        "read": row.read_at is not None,
        "read_at": row.read_at.isoformat() if row.read_at else None,
        "data": dict(row.payload),
    }


__all__ = [
    "KindFilter",
    "as_dict",
    "list_notifications",
    "mark_read",
    "next_cursor",
    "parse_kinds",
    "read_cursor",
    "unread_count",
]
