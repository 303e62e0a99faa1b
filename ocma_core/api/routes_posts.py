"""Posts: create, edit, list, check, approve, publish, cancel, retry, delete from the platforms, import."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from ocma_core.api.auth import Caller, get_ocma, require
from ocma_core.api.openapi import errors
from ocma_core.api.paging import CONTINUE_AFTER, NEXT_PAGE_HEADERS, link_next_page
from ocma_core.api.schemas import (
    CheckOut,
    DeletePublishedOut,
    FailedTargetOut,
    ImportOut,
    PostOut,
)
from ocma_core.context import Ocma
from ocma_core.db.models import PostStatus
from ocma_core.errors import ValidationFailed
from ocma_core.permissions import Action
from ocma_core.registry import get_platform
from ocma_core.services import posts
from ocma_core.services.post_import import HELP
from ocma_core.services.post_input import IsoDatetime, PostInput
from ocma_core.services.post_listing import page_cursor

MAX_CHECKED = 100_000  # characters per check request, the most a post's body may hold
MAX_OFFSET = 1_000_000_000  # far past any real list; a larger one overflowed the database's integer (a 500)

router = APIRouter(tags=["posts"])


def _view(ocma: Ocma, post_id: str, workspace_id: str) -> PostOut:
    post = posts.get_post(ocma, workspace_id, post_id)
    return PostOut.model_validate(posts.post_summary(post, posts.targets_of(ocma, post.id)))


@router.post("/v1/posts", status_code=201, responses=errors(404, 409))
def create_post(
    body: PostInput, caller: Caller = Depends(require(Action.POSTS_CREATE)), ocma: Ocma = Depends(get_ocma)
) -> PostOut:
    """Create a post: a draft, scheduled (action=schedule), in the next free slot, or due now."""
    post = posts.create_post(ocma, caller.workspace_id, body, created_by=f"apikey:{caller.key_id}")
    return _view(ocma, post.id, caller.workspace_id)


@router.get(
    "/v1/posts",
    responses={
        200: {"headers": NEXT_PAGE_HEADERS},
        **errors(422),
    },
)
def list_posts(
    start: IsoDatetime | None = Query(None, description="Scheduled at or after (ISO 8601)."),
    end: IsoDatetime | None = Query(None, description="Scheduled before (ISO 8601)."),
    status: PostStatus | None = None,
    account_id: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(
        0, ge=0, le=MAX_OFFSET, description="Posts to skip (small lists; deep pages: use `after`)."
    ),
    after: str | None = Query(
        None,
        max_length=400,
        description=f"{CONTINUE_AFTER}. A deep page then costs what the first does.",
    ),
    caller: Caller = Depends(require(Action.POSTS_READ)),
    ocma: Ocma = Depends(get_ocma),
    *,
    request: Request,
    response: Response,
) -> list[PostOut]:
    """Posts by scheduled window [start, end), status and account; scheduled ones soonest first, then drafts.

    When the page is full, `X-Next-Cursor` and a `Link: <...>; rel="next"` header lead to the next one."""
    if after and offset:
        raise ValidationFailed(
            "Use either `after` or `offset`, not both.",
            problems=[{"field": "offset", "message": "given with after"}],
            fix="Leave offset out when you continue with a cursor.",
        )
    found = posts.list_posts(
        ocma,
        caller.workspace_id,
        start=start,
        end=end,
        status=status,
        account_id=account_id,
        limit=limit,
        offset=offset,
        after=after,
    )
    link_next_page(request, response, page_cursor(found, limit), drop=("offset",))
    targets = posts.targets_by_post(ocma, [p.id for p in found])  # one query for the page, not one per post
    return [PostOut.model_validate(posts.post_summary(p, targets[p.id])) for p in found]


@router.get("/v1/posts/failed")
def failed(
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    caller: Caller = Depends(require(Action.POSTS_READ)),
    ocma: Ocma = Depends(get_ocma),
) -> list[FailedTargetOut]:
    """Failed and held targets, with the reason, newest first (page through with limit and offset)."""
    return [
        FailedTargetOut(
            post_id=p.id,
            target_id=t.id,
            platform=t.platform,
            account_id=t.account_id,
            status=str(t.status),
            error=t.last_error,
            attempts=t.attempts,
            body=p.body[:200],
        )
        for t, p in posts.failed_targets(ocma, caller.workspace_id, limit=limit, offset=offset)
    ]


class CheckRequest(BaseModel):
    """A text to check against one platform's rules."""

    model_config = ConfigDict(strict=True, extra="forbid")

    platform: str = Field(min_length=1, max_length=64)
    text: str = Field(max_length=MAX_CHECKED)
    thread: list[str] = Field(default_factory=list, max_length=25)

    @field_validator("thread")
    @classmethod
    def _total(cls, thread: list[str], info: ValidationInfo) -> list[str]:
        # Platforms count text with URL, mention and grapheme rules: the work grows with the text, so one
        # request checks at most as much as one post may hold.
        total = len(info.data.get("text", "")) + sum(len(part) for part in thread)
        if total > MAX_CHECKED:
            raise ValueError(
                f"text and thread hold {total} characters together; at most {MAX_CHECKED} are checked"
            )
        return thread


@router.post("/v1/posts/check", responses=errors(404))
def check(body: CheckRequest, caller: Caller = Depends(require(Action.POSTS_CHECK))) -> CheckOut:
    """Length as the platform counts it, its limit, and every problem found."""
    from ocma_core.platforms import PostContent

    platform = get_platform(body.platform)
    content = PostContent(text=body.text, thread=[PostContent(text=t) for t in body.thread])
    limit = platform.limits.text
    problems = [p.as_dict() for p in platform.validate(content)]
    return CheckOut.model_validate(
        {
            "platform": platform.name,
            "length": limit.count(body.text),
            "limit": limit.max_length,
            "unit": limit.unit,
            "ok": not problems,
            "problems": problems,
        }
    )


@router.get("/v1/posts/{post_id}")
def get_post(
    post_id: str, caller: Caller = Depends(require(Action.POSTS_READ)), ocma: Ocma = Depends(get_ocma)
) -> PostOut:
    """One post with its targets."""
    return _view(ocma, post_id, caller.workspace_id)


@router.put("/v1/posts/{post_id}", responses=errors(409))
def update_post(
    post_id: str,
    body: PostInput,
    caller: Caller = Depends(require(Action.POSTS_EDIT)),
    ocma: Ocma = Depends(get_ocma),
) -> PostOut:
    """Replace a post's content, accounts and schedule (until something of it is published)."""
    posts.update_post(ocma, caller.workspace_id, post_id, body)
    return _view(ocma, post_id, caller.workspace_id)


@router.post("/v1/posts/{post_id}/approve", responses=errors(409))
def approve(
    post_id: str, caller: Caller = Depends(require(Action.POSTS_APPROVE)), ocma: Ocma = Depends(get_ocma)
) -> PostOut:
    """Approve a post waiting for approval (admins and owners)."""
    posts.approve_post(ocma, caller.workspace_id, post_id)
    return _view(ocma, post_id, caller.workspace_id)


@router.post("/v1/posts/{post_id}/publish", responses=errors(409))
def publish(
    post_id: str, caller: Caller = Depends(require(Action.POSTS_PUBLISH)), ocma: Ocma = Depends(get_ocma)
) -> PostOut:
    """Publish now."""
    posts.publish_now(ocma, caller.workspace_id, post_id)
    return _view(ocma, post_id, caller.workspace_id)


@router.post("/v1/posts/{post_id}/cancel", responses=errors(409))
def cancel(
    post_id: str, caller: Caller = Depends(require(Action.POSTS_CANCEL)), ocma: Ocma = Depends(get_ocma)
) -> PostOut:
    """Cancel what has not gone out."""
    posts.cancel_post(ocma, caller.workspace_id, post_id)
    return _view(ocma, post_id, caller.workspace_id)


@router.post("/v1/posts/{post_id}/retry", responses=errors(409))
def retry(
    post_id: str, caller: Caller = Depends(require(Action.POSTS_RETRY)), ocma: Ocma = Depends(get_ocma)
) -> PostOut:
    """Queue failed or held targets again."""
    posts.retry_post(ocma, caller.workspace_id, post_id)
    return _view(ocma, post_id, caller.workspace_id)


class DeletePublishedRequest(BaseModel):
    """Which accounts to delete a published post from (leave out: every account it is published on)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    account_ids: list[str] | None = Field(default=None, min_length=1)


@router.post("/v1/posts/{post_id}/delete-published", responses=errors(409, 429, 502))
async def delete_published(
    post_id: str,
    body: DeletePublishedRequest | None = None,
    caller: Caller = Depends(require(Action.POSTS_DELETE_PUBLISHED)),
    ocma: Ocma = Depends(get_ocma),
) -> DeletePublishedOut:
    """Delete a published post from the platforms (every part of a thread); one result per target.

    Each target's `status` is `deleted`, `failed` (with the platform's `reason`, and `retry_at` after a
    rate limit) or `skipped` (it was not published there). This cannot be undone.
    """
    from ocma_core.services.approval import require_delete_approval
    from ocma_core.services.deletion import delete_published as delete

    await asyncio.to_thread(require_delete_approval, ocma, caller.workspace_id, caller.role)

    results = await delete(
        ocma,
        caller.workspace_id,
        post_id,
        account_ids=body.account_ids if body else None,
        by=f"apikey:{caller.key_id}",
    )
    post = await asyncio.to_thread(_view, ocma, post_id, caller.workspace_id)
    return DeletePublishedOut.model_validate({"post": post, "targets": [r.as_dict() for r in results]})


@router.post("/v1/posts/import", responses=errors(404))
async def import_posts(
    file: UploadFile = File(..., description="UTF-8 CSV: " + HELP),
    partial: bool = Query(False, description="Import the valid rows even if some are invalid."),
    caller: Caller = Depends(require(Action.POSTS_IMPORT)),
    ocma: Ocma = Depends(get_ocma),
) -> ImportOut:
    """Import a CSV: every row is validated first; nothing is imported if any row is invalid (unless partial).

    An import that imports nothing is a 422 whose `problems` name each row; with `partial`, the rows that could
    be imported are, and the answer lists the others.
    """
    from ocma_core.services.post_import import MAX_IMPORT_BYTES, import_csv

    raw = await file.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        raise ValidationFailed(
            f"The CSV is larger than {MAX_IMPORT_BYTES} bytes; nothing was imported.",
            fix="Split it into smaller files.",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValidationFailed(
            f"The file is not UTF-8 text (line {line}, byte {exc.start}).",
            fix="Save the spreadsheet as 'CSV UTF-8' and import that file.",
        ) from None
    # Validating and creating thousands of rows is CPU and database work: never on the event loop.
    report = await asyncio.to_thread(import_csv, ocma, caller.workspace_id, text, partial=partial)
    if not report.imported:
        invalid = len({p["row"] for p in report.problems})
        raise ValidationFailed(
            f"Nothing was imported: {invalid} of {report.rows} row(s) are invalid.",
            problems=report.problems,
            fix="Correct the rows listed in problems"
            + ("." if partial else ", or import with partial=true."),
        )
    return ImportOut.model_validate(report.as_dict())
