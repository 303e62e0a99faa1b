"""GET /v1/notifications, its unread count, and POST /v1/notifications/read: the workspace's event log as a
feed with read state (ocma_core.services.notifications). Read state is per workspace, not per person."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ocma_core.api.auth import Caller, get_ocma, require
from ocma_core.api.openapi import errors
from ocma_core.api.paging import CONTINUE_AFTER, NEXT_PAGE_HEADERS, link_next_page
from ocma_core.api.schemas import Out
from ocma_core.context import Ocma
from ocma_core.permissions import Action
from ocma_core.services import notifications as feed

router = APIRouter(tags=["notifications"])

UNREAD_HEADER = {
    "X-Unread-Count": {
        "description": "How many of the workspace's notifications are unread.",
        "schema": {"type": "integer"},
    }
}


class NotificationOut(Out):
    """One stored event with its read state (read state is the workspace's, not one person's)."""

    id: str
    event_id: str = Field(description="The event's id as webhooks and the stream send it (evt_...).")
    seq: int = Field(description="Its place in the workspace's event log.")
    kind: str
    at: str
    read: bool
    read_at: str | None = None
    data: dict[str, Any]


class UnreadOut(Out):
    """The unread count and the newest sequence id (mark everything seen with up_to_seq=latest_seq)."""

    unread: int
    latest_seq: int


class MarkRead(BaseModel):
    """Which notifications to mark read: some `ids`, or every one up to `up_to_seq` (one of the two)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    ids: list[str] = Field(default_factory=list, max_length=feed.MAX_IDS, description="Notification ids.")
    up_to_seq: int | None = Field(
        None, ge=0, le=feed.MAX_SEQ, description="Mark every notification with seq <= this."
    )


class MarkedOut(Out):
    """How many notifications this request marked read (already-read ones are not counted) and how many
    stay unread."""

    marked: int
    unread: int


@router.get(
    "/v1/notifications",
    responses={
        200: {"headers": {**NEXT_PAGE_HEADERS, **UNREAD_HEADER}},
        **errors(422),
    },
)
def list_notifications(
    unread: bool = Query(False, description="Only notifications nobody in the workspace marked read."),
    kind: str = Query(
        "", max_length=2000, description="Comma-separated kinds, or prefixes like `post.*`; empty: all."
    ),
    order: Literal["newest", "oldest"] = Query("newest", description="Newest first (default) or oldest."),
    limit: int = Query(50, ge=1, le=feed.MAX_LIMIT),
    after: str | None = Query(
        None,
        max_length=32,
        description=f"{CONTINUE_AFTER}, with the same `order`.",
    ),
    caller: Caller = Depends(require(Action.EVENTS_READ)),
    ocma: Ocma = Depends(get_ocma),
    *,
    request: Request,
    response: Response,
) -> list[NotificationOut]:
    """The workspace's notifications (its stored events) with read state, newest first, a page at a time.

    When the page is full, `X-Next-Cursor` and a `Link: <...>; rel="next"` header lead to the next one;
    every notification appears once. `X-Unread-Count` says how many are unread."""
    kinds, cursor = feed.parse_kinds(kind), feed.read_cursor(after)
    page = feed.list_notifications(
        ocma,
        caller.workspace_id,
        unread=unread,
        kinds=kinds,
        after=cursor,
        limit=limit,
        oldest_first=order == "oldest",
    )
    link_next_page(request, response, feed.next_cursor(page, limit))
    response.headers["X-Unread-Count"] = str(feed.unread_count(ocma, caller.workspace_id))
    return [NotificationOut.model_validate(feed.as_dict(row)) for row in page]


@router.get("/v1/notifications/unread-count")
def unread_count(
    caller: Caller = Depends(require(Action.EVENTS_READ)), ocma: Ocma = Depends(get_ocma)
) -> UnreadOut:
    """How many notifications are unread, and the newest sequence id."""
    from ocma_core.eventlog import last_seq

    return UnreadOut(
        unread=feed.unread_count(ocma, caller.workspace_id), latest_seq=last_seq(ocma, caller.workspace_id)
    )


@router.post("/v1/notifications/read", responses=errors(422))
def mark_read(
    body: MarkRead,
    caller: Caller = Depends(require(Action.NOTIFICATIONS_MARK)),
    ocma: Ocma = Depends(get_ocma),
) -> MarkedOut:
    """Mark notifications read for the whole workspace: the given `ids`, or all up to `up_to_seq`.

    All or nothing: an id that is not one of the workspace's notifications is a 422 naming it, and nothing
    is marked."""
    marked = feed.mark_read(ocma, caller.workspace_id, ids=body.ids, up_to_seq=body.up_to_seq)
    return MarkedOut(marked=marked, unread=feed.unread_count(ocma, caller.workspace_id))
