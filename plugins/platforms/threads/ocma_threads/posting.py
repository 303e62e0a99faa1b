"""Threads posts through containers, and threads as reply chains.

One part is one container: `POST /{user}/threads` with `media_type` TEXT, IMAGE, VIDEO or CAROUSEL (children
first, `is_carousel_item=true`), `text`, `reply_to_id` (the part before), `reply_control`, `link_attachment`.
A plain text part is created with `auto_publish_text=true`, so the create call publishes it (one call; a lost
answer is Unconfirmed). A media part is read once (`GET /{container}?fields=status,error_message`) and
published with `threads_publish` when FINISHED; still IN_PROGRESS, the thread stops there and the engine asks
`check_pending` about the pending handle `<container>:<text digest>:<replied-to post>`. Creating a media container is
invisible, so a lost answer there is simply tried again (never Unconfirmed).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ocma_core import (
    AccountContext,
    MediaItem,
    PostContent,
    RateLimited,
    RateLimitInfo,
    Rejected,
)
from ocma_core.platforms import graph

if TYPE_CHECKING:
    from ocma_threads.platform import ThreadsPlatform

REPLY_CONTROLS = (
    "everyone",
    "accounts_you_follow",
    "mentioned_only",
    "parent_post_author_only",
    "followers_only",
)
LOOKBACK = timedelta(minutes=2)


class StillProcessing(Exception):
    """A part's media is still processed: nothing can reply to it yet (its pending handle is `handle`)."""

    def __init__(self, handle: str) -> None:
        super().__init__(f"container {handle} is still processing")
        self.handle = handle


def digest(text: str) -> str:
    """A short digest of a part's text (to recognise it once published)."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_handle(container: str, text: str, reply_to: str | None) -> str:
    """The pending handle of a container: `<container>:<text digest>:<the post it replies to>`."""
    return f"{container}:{digest(text)}:{reply_to or ''}"


def parse_handle(handle: str) -> tuple[str, str, str | None]:
    """(container, text digest, reply_to) of a pending handle."""
    container, _, rest = handle.partition(":")
    text_digest, _, reply_to = rest.partition(":")
    return container, text_digest, reply_to or None


def _media_fields(platform: ThreadsPlatform, item: MediaItem) -> dict[str, str]:
    url = graph.public_media_url(item, "Threads", platform.api_base)
    if item.is_video:
        return {"media_type": "VIDEO", "video_url": url}
    fields = {"media_type": "IMAGE", "image_url": url}
    if item.alt_text:
        fields["alt_text"] = item.alt_text
    return fields


async def _create(
    platform: ThreadsPlatform, ctx: AccountContext, fields: dict[str, str], publishes: bool
) -> str:
    answer = await platform.call(
        "POST", f"{platform.user_path(ctx)}/threads", ctx, bucket="publish", creates=publishes, data=fields
    )
    return str(answer["id"])


async def post_part(
    platform: ThreadsPlatform,
    ctx: AccountContext,
    part: PostContent,
    options: dict[str, Any],
    reply_to: str | None,
) -> str:
    """Post one part (replying to `reply_to`); its id, or StillProcessing with its pending handle."""
    fields: dict[str, str] = {"text": part.text}
    if reply_to:
        fields["reply_to_id"] = reply_to
    if options.get("reply_control"):
        fields["reply_control"] = str(options["reply_control"])
    for name in ("topic_tag", "location_id") if not reply_to else ():
        if options.get(name):
            fields[name] = str(options[name])
    if options.get("quote_post_id") and not reply_to:
        fields["quote_post_id"] = str(options["quote_post_id"])
    if not part.media:
        fields["media_type"] = "TEXT"
        link = part.options.get("link") or (options.get("link") if not reply_to else None)
        if link:
            fields["link_attachment"] = str(link)
        fields["auto_publish_text"] = "true"
        return await _create(platform, ctx, fields, publishes=True)
    if len(part.media) == 1:
        container = await _create(
            platform, ctx, {**fields, **_media_fields(platform, part.media[0])}, publishes=False
        )
    else:
        children = [
            await _create(
                platform, ctx, {**_media_fields(platform, m), "is_carousel_item": "true"}, publishes=False
            )
            for m in part.media
        ]
        fields.update(media_type="CAROUSEL", children=",".join(children))
        container = await _create(platform, ctx, fields, publishes=False)
    handle = make_handle(container, part.text, reply_to)
    status, error = await container_status(platform, ctx, container)
    if status in ("IN_PROGRESS", ""):
        raise StillProcessing(handle)
    if status != "FINISHED":
        raise refused(status, error)
    return await publish_container(platform, ctx, container)


async def container_status(platform: ThreadsPlatform, ctx: AccountContext, container: str) -> tuple[str, str]:
    """A container's `status` and `error_message`."""
    body = await platform.call(
        "GET", container, ctx, bucket="check_pending", params={"fields": "id,status,error_message"}
    )
    return str(body.get("status") or ""), str(body.get("error_message") or "")


async def publish_container(platform: ThreadsPlatform, ctx: AccountContext, container: str) -> str:
    """`POST /{user}/threads_publish?creation_id=`; the post's id (Unconfirmed when the answer is lost)."""
    path = f"{platform.user_path(ctx)}/threads_publish"
    return await platform.publish_container(ctx, path, container, "a post id")


def refused(status: str, error: str) -> Rejected:
    """The failure for a container Meta will never publish."""
    if status == "EXPIRED":
        return Rejected("Threads discarded the container: it was not published in time.", code=status)
    return Rejected(f"Threads could not process the media: {error or status}", code=status or None)


async def quota(
    platform: ThreadsPlatform, ctx: AccountContext, content: PostContent, replies_only: bool
) -> None:
    """`threads_publishing_limit` into the budgets; RateLimited when posts or replies are used up."""
    body = await platform.call(
        "GET",
        f"{platform.user_path(ctx)}/threads_publishing_limit",
        ctx,
        bucket="publish",
        params={"fields": "quota_usage,config,reply_quota_usage,reply_config"},
    )
    entry: dict[str, Any] = (body.get("data") or [{}])[0]
    now = datetime.now(UTC)
    checks = [("reply", len(content.thread))] + ([] if replies_only else [("", 1)])
    for prefix, needed in checks:
        config = entry.get(f"{prefix}_config" if prefix else "config") or {}
        total, used = (
            config.get("quota_total"),
            entry.get(f"{prefix}_quota_usage" if prefix else "quota_usage"),
        )
        if not isinstance(total, int) or not isinstance(used, int) or not needed:
            continue
        left = max(total - used, 0)
        reset = now + timedelta(seconds=float(config.get("quota_duration") or 86400))
        if not prefix:
            info = RateLimitInfo(
                scope="account", bucket="publish", limit=total, remaining=left, reset_at=reset
            )
            graph.record_readings(ctx, [info])
        if left < needed:
            what = "replies" if prefix else "posts"
            raise RateLimited(
                f"Threads' daily {what} quota is used up ({used} of {total} in 24 h).",
                retry_at=now + timedelta(hours=1),
                code="quota",
            )


async def _listing(platform: ThreadsPlatform, ctx: AccountContext, path: str) -> list[dict[str, Any]]:
    body = await platform.call(
        "GET", path, ctx, bucket="read", params={"fields": "id,text,timestamp,permalink", "limit": "50"}
    )
    return [p for p in body.get("data") or [] if isinstance(p, dict)]


def _recent(post: dict[str, Any], since: datetime) -> bool:
    try:
        created = datetime.strptime(str(post.get("timestamp") or ""), "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return True
    return created >= since - LOOKBACK


async def find_parts(
    platform: ThreadsPlatform, ctx: AccountContext, content: PostContent, since: datetime
) -> list[dict[str, Any]]:
    """The parts of `content` that exist: the first among the account's posts, each next one among the
    replies to the one before (a read: it posts nothing)."""
    parts = content.all_parts()
    first = next(
        (
            p
            for p in await _listing(platform, ctx, f"{platform.user_path(ctx)}/threads")
            if p.get("text") == parts[0].text and _recent(p, since)
        ),
        None,
    )
    if first is None:
        return []
    found = [first]
    for part in parts[1:]:
        replies = await _listing(platform, ctx, f"{found[-1]['id']}/replies")
        mine = next(
            (r for r in replies if r.get("text") == part.text and r.get("is_reply_owned_by_me", True)), None
        )
        if mine is None:
            break
        found.append(mine)
    return found


async def find_by_digest(
    platform: ThreadsPlatform, ctx: AccountContext, text_digest: str, reply_to: str | None
) -> dict[str, Any] | None:
    """A just-published post (or reply to `reply_to`) whose text has this digest."""
    path = f"{reply_to}/replies" if reply_to else f"{platform.user_path(ctx)}/threads"
    return next(
        (p for p in await _listing(platform, ctx, path) if digest(str(p.get("text") or "")) == text_digest),
        None,
    )
