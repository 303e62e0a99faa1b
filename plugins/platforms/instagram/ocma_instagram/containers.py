"""Instagram's container flow: create containers from public media URLs, follow their status, publish.

`POST /{ig-user}/media` creates a container (an unpublished, invisible object: creating one again after a
lost answer does no harm, so it is never "unconfirmed"); `GET /{container}?fields=status_code,status`
reads IN_PROGRESS → FINISHED | ERROR | EXPIRED (→ PUBLISHED once published); `POST /{ig-user}/
media_publish?creation_id=` publishes it — the one call that can post twice, so a lost answer there is
Unconfirmed and OCMA looks before it publishes again.

While a container is processed the engine holds the post as pending under a handle
`<container id>:<caption digest>` and asks `check_pending` (no sleeping inside `publish`); the digest lets it
find the published media if the answer to `media_publish` was lost.
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
    from ocma_instagram.platform import InstagramPlatform

KINDS = ("feed", "reel", "story")
#: Options passed to the published container as Meta names them (`collaborators`: a list of usernames).
PASSED_OPTIONS = ("location_id", "collaborators", "cover_url", "thumb_offset", "audio_name")


def passed_options(options: dict[str, Any]) -> dict[str, str]:
    """The container fields OCMA passes on from a post's Instagram options."""
    fields: dict[str, str] = {}
    for name in PASSED_OPTIONS:
        value = options.get(name)
        if value in (None, "", []):
            continue
        fields[name] = ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return fields


def digest(caption: str) -> str:
    """A short digest of a caption (to recognise the published media)."""
    return hashlib.sha256(caption.encode()).hexdigest()[:16]


def handle(container_id: str, caption: str) -> str:
    """The pending handle of a container."""
    return f"{container_id}:{digest(caption)}"


def parse_handle(value: str) -> tuple[str, str]:
    """(container id, caption digest) of a pending handle."""
    container, _, caption_digest = value.partition(":")
    return container, caption_digest


def _item_fields(item: MediaItem, url: str, kind: str, carousel_item: bool) -> dict[str, str]:
    if item.is_video:
        fields = {"video_url": url, "media_type": "STORIES" if kind == "story" else "REELS"}
        if carousel_item:
            fields["media_type"] = "VIDEO"  # a carousel's video item
    else:
        fields = {"image_url": url}
        if kind == "story":
            fields["media_type"] = "STORIES"
        if item.alt_text:
            fields["alt_text"] = item.alt_text
    if carousel_item:
        fields["is_carousel_item"] = "true"
    return fields


async def create(platform: InstagramPlatform, ctx: AccountContext, fields: dict[str, str]) -> str:
    """`POST /{ig-user}/media`; the container id."""
    answer = await platform.call(
        "POST", f"{platform.user_path(ctx)}/media", ctx, bucket="containers", data=fields
    )
    return str(answer["id"])


async def create_for(platform: InstagramPlatform, ctx: AccountContext, content: PostContent) -> str:
    """The container(s) for `content`: one, or a carousel of 2-10 children; the container to publish."""
    kind = str(content.options.get("instagram_type") or "feed")
    urls = [graph.public_media_url(item, "Instagram", platform.api_base) for item in content.media]
    if len(content.media) == 1:
        fields = _item_fields(content.media[0], urls[0], kind, carousel_item=False)
        if kind != "story":
            fields["caption"] = content.text
        if content.media[0].is_video and kind == "feed":
            fields["share_to_feed"] = "true"
        return await create(platform, ctx, {**fields, **passed_options(content.options)})
    children = [
        await create(platform, ctx, _item_fields(item, url, kind, carousel_item=True))
        for item, url in zip(content.media, urls, strict=True)
    ]
    fields = {"media_type": "CAROUSEL", "children": ",".join(children), "caption": content.text}
    return await create(platform, ctx, {**fields, **passed_options(content.options)})


async def status(platform: InstagramPlatform, ctx: AccountContext, container_id: str) -> tuple[str, str]:
    """A container's `status_code` and Meta's `status` text."""
    body = await platform.call(
        "GET", container_id, ctx, bucket="check_pending", params={"fields": "status_code,status"}
    )
    return str(body.get("status_code") or ""), str(body.get("status") or "")


async def quota(platform: InstagramPlatform, ctx: AccountContext) -> None:
    """Read `content_publishing_limit` into the budgets; RateLimited when the 24-hour quota is used up."""
    body = await platform.call(
        "GET",
        f"{platform.user_path(ctx)}/content_publishing_limit",
        ctx,
        bucket="publish",
        params={"fields": "quota_usage,config"},
    )
    entries = body.get("data") or [{}]
    entry: dict[str, Any] = entries[0] if isinstance(entries[0], dict) else {}
    config = entry.get("config") or {}
    total, used = config.get("quota_total"), entry.get("quota_usage")
    if not isinstance(total, int) or not isinstance(used, int):
        return
    window = float(config.get("quota_duration") or 86400)
    reset = datetime.now(UTC) + timedelta(seconds=window)
    remaining = max(total - used, 0)
    info = RateLimitInfo(scope="account", bucket="publish", limit=total, remaining=remaining, reset_at=reset)
    graph.record_readings(ctx, [info])
    if remaining == 0:
        # The window rolls: the oldest post of the last 24 hours frees a place some time within it.
        raise RateLimited(
            f"Instagram's publishing quota is used up ({used} of {total} posts in {window / 3600:.0f} h).",
            retry_at=datetime.now(UTC) + timedelta(hours=1),
            code="quota",
        )


async def publish_container(platform: InstagramPlatform, ctx: AccountContext, container_id: str) -> str:
    """`POST /{ig-user}/media_publish`; the media id (Unconfirmed when the answer is lost)."""
    await quota(platform, ctx)
    path = f"{platform.user_path(ctx)}/media_publish"
    return await platform.publish_container(ctx, path, container_id, "a media id")


def refused(code: str, text: str) -> Rejected:
    """The failure for a container Meta will never publish."""
    if code == "EXPIRED":
        return Rejected(f"Instagram discarded the container: it was not published within 24 hours ({text}).")
    return Rejected(f"Instagram could not process the media: {text or code}", code=code)


async def find_by_caption(
    platform: InstagramPlatform, ctx: AccountContext, caption_digest: str, since: datetime
) -> dict[str, Any] | None:
    """The account's recent media whose caption has this digest, created since `since`."""
    body = await platform.call(
        "GET",
        f"{platform.user_path(ctx)}/media",
        ctx,
        bucket="media",
        params={"fields": "id,caption,timestamp,permalink", "limit": "50"},
    )
    for media in body.get("data") or []:
        if not isinstance(media, dict) or digest(str(media.get("caption") or "")) != caption_digest:
            continue
        stamp = str(media.get("timestamp") or "")
        try:
            created = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S%z")
        except ValueError:
            created = since
        if created >= since - timedelta(minutes=2):
            return media
    return None
