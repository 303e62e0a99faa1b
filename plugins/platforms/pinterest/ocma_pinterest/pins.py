"""Pins: the board a post goes to, the create-pin body and its media source, finding and deleting pins."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ocma_core import AccountContext, FoundPost, MediaItem, PostContent, Rejected

if TYPE_CHECKING:
    from ocma_pinterest.platform import PinterestPlatform

BASE64_TYPES = ("image/jpeg", "image/png")  # PinMediaSourceImageBase64.content_type
#: post options a pin reads (per-platform options of a post: {"pinterest": {...}})
OPTIONS = ("board_id", "board_section_id", "title", "link", "dominant_color", "cover_image_key_frame_time")
TRIAL_HINT = (
    " This Pinterest app has Trial access: Pinterest creates its pins only in the API Sandbox (visible to the "
    "app's owner alone). Apply for Standard access in the app's settings on developers.pinterest.com; to try "
    "OCMA meanwhile, point OCMA_PINTEREST_API_BASE at https://api-sandbox.pinterest.com/v5 (see the plugin's README)."
)
FIND_PAGES = 4  # pages of GET /pins (100 pins each) a look-up reads before it says "not there"


def board_for(content: PostContent, settings: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """(board id, section id) the pin goes to: the post's `board_id`, else the account's default board; None
    when neither is set."""
    chosen = str(content.options.get("board_id") or "")
    if chosen:
        section = content.options.get("board_section_id")
        return chosen, str(section) if section else None
    default = str(settings.get("default_board_id") or "")
    if not default:
        return None
    section = content.options.get("board_section_id") or settings.get("default_board_section_id")
    return default, str(section) if section else None


def board_of(ctx: AccountContext, content: PostContent) -> tuple[str, str | None]:
    """(board id, section id): the post's `board_id`, else the account's default board; Rejected when none."""
    board = board_for(content, ctx.settings)
    if board is None:
        raise Rejected(
            "Pinterest needs a board for every pin: give the post the option board_id, or choose the "
            "account's default board (`ocma accounts set ACCOUNT_ID default_board=NAME`)."
        )
    return board


def _image_base64(item: MediaItem) -> dict[str, str]:
    if item.mime_type not in BASE64_TYPES:
        raise Rejected(f"Pinterest takes uploaded images as JPEG or PNG only, not {item.mime_type}.")
    return {"content_type": item.mime_type, "data": base64.b64encode(item.read_bytes()).decode("ascii")}


def image_source(images: list[MediaItem]) -> dict[str, Any]:
    """image_url / image_base64 for one image; multiple_image_urls / multiple_image_base64 for a carousel.

    Pinterest fetches a URL itself, so OCMA's signed public URL is used when every image has one; otherwise the
    bytes go inline as base64."""
    by_url = all(item.public_url for item in images)
    if len(images) == 1:
        item = images[0]
        if by_url:
            return {"source_type": "image_url", "url": item.public_url}
        return {"source_type": "image_base64", **_image_base64(item)}
    if by_url:
        return {"source_type": "multiple_image_urls", "items": [{"url": i.public_url} for i in images]}
    return {"source_type": "multiple_image_base64", "items": [_image_base64(i) for i in images]}


def video_source(media_id: str, content: PostContent) -> dict[str, Any]:
    """video_id with a cover: the post's `cover_image_url`, else a key frame (the option, else the first)."""
    source: dict[str, Any] = {"source_type": "video_id", "media_id": media_id}
    cover = content.options.get("cover_image_url")
    if cover:
        source["cover_image_url"] = str(cover)
    else:
        source["cover_image_key_frame_time"] = int(content.options.get("cover_image_key_frame_time") or 0)
    return source


def pin_body(ctx: AccountContext, content: PostContent, media_source: dict[str, Any]) -> dict[str, Any]:
    """The POST /pins body: board (and section), title, description (the post's text), link, alt text, media."""
    board, section = board_of(ctx, content)
    body: dict[str, Any] = {"board_id": board, "media_source": media_source}
    if section:
        body["board_section_id"] = section
    if content.text:
        body["description"] = content.text
    for key in ("title", "link", "dominant_color"):
        if content.options.get(key):
            body[key] = str(content.options[key])
    alt = content.options.get("alt_text") or next((m.alt_text for m in content.media if m.alt_text), "")
    if alt:
        body["alt_text"] = str(alt)
    return body


async def create(platform: PinterestPlatform, ctx: AccountContext, body: dict[str, Any]) -> dict[str, Any]:
    """POST /pins; the created Pin."""
    try:
        pin = await platform.call(ctx, "POST", "/pins", "org_write", json=body)
    except Rejected as exc:
        if exc.status == 403 and "trial access" in exc.message.lower():
            raise Rejected(exc.message + TRIAL_HINT, status=403, code=exc.code) from None
        raise
    if not pin.get("id"):
        raise Rejected(f"Pinterest answered the new pin without an id: {pin}")
    return pin


def matches(pin: dict[str, Any], content: PostContent, board: str, since: datetime) -> bool:
    """Whether a listed pin is this content's (same board, description and title, created since `since`)."""
    created = str(pin.get("created_at") or "")
    try:
        when = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return False
    title = content.options.get("title")
    return (
        str(pin.get("board_id") or "") == board
        and (pin.get("description") or "") == content.text
        and (not title or pin.get("title") == title)
        and when >= since
    )


async def find(
    platform: PinterestPlatform, ctx: AccountContext, content: PostContent, since: datetime
) -> FoundPost | None:
    """Look through the account's newest pins (GET /pins) for this content."""
    board, _ = board_of(ctx, content)
    params: dict[str, str] = {"page_size": "100"}
    for _ in range(FIND_PAGES):
        page = await platform.call(ctx, "GET", "/pins", "org_read", params=params)
        for pin in page.get("items") or []:
            if isinstance(pin, dict) and matches(pin, content, board, since):
                pin_id = str(pin["id"])
                return FoundPost(part_ids=[pin_id], url=platform.pin_url(pin_id), raw=pin)
        bookmark = page.get("bookmark")
        if not bookmark:
            return None
        params["bookmark"] = str(bookmark)
    return None


async def delete(platform: PinterestPlatform, ctx: AccountContext, pin_id: str) -> None:
    """DELETE /pins/{id}; a pin that is already gone counts as deleted."""
    response = await platform.send(
        "DELETE", f"{platform.api_base}/pins/{pin_id}", ctx=ctx, bucket="org_write",
        headers=platform.auth_header(ctx),
    )  # fmt: skip
    if response.status_code == 404:
        return
    platform.raise_for_status(response)
