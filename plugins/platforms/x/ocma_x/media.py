"""X API v2 media upload: one-shot for images and GIFs, INIT/APPEND/FINALIZE/STATUS for video, alt text.

Wire format per X's OpenAPI description (operations mediaUpload, initializeMediaUpload, appendMediaUpload,
finalizeMediaUpload, getMediaUploadStatus, createMediaMetadata) and the chunked-upload quickstart.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ocma_core import AccountContext, MediaItem, Rejected, Transient
from ocma_x.errors import raise_for_x_status

if TYPE_CHECKING:
    import httpx

    from ocma_x.platform import XPlatform

CHUNK_BYTES = 4 * 1024 * 1024  # X accepts segments up to 5 MB; 4 MB keeps a margin
MAX_PROCESSING_WAIT_S = 600.0


def category(item: MediaItem) -> str:
    """X's media_category for a post attachment."""
    if item.is_video:
        return "tweet_video"
    return "tweet_gif" if item.mime_type == "image/gif" else "tweet_image"


async def _call(
    platform: XPlatform, ctx: AccountContext, method: str, path: str, bucket: str, **kwargs: Any
) -> httpx.Response:
    response = await platform.send(
        method,
        f"{platform.api_base}{path}",
        ctx=ctx,
        bucket=bucket,
        headers=platform.auth_header(ctx),
        **kwargs,
    )
    raise_for_x_status(response)
    return response


def _data(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not data.get("id"):
        raise Transient(f"X answered the media call without data: {response.text[:200]}")
    return data


async def upload(platform: XPlatform, ctx: AccountContext, item: MediaItem) -> str:
    """Upload one attachment (and its alt text); returns the media id to put in `media.media_ids`."""
    if item.is_video:
        media_id = await _upload_chunked(platform, ctx, item)
    else:
        media_id = await _upload_simple(platform, ctx, item)
    if item.alt_text and not item.is_video:
        await set_alt_text(platform, ctx, media_id, item.alt_text)
    return media_id


async def _upload_simple(platform: XPlatform, ctx: AccountContext, item: MediaItem) -> str:
    """POST /2/media/upload, multipart with `media` (bytes) and `media_category`."""
    files = {"media": (item.path.name, item.read_bytes(), item.mime_type)}
    response = await _call(
        platform,
        ctx,
        "POST",
        "/2/media/upload",
        "POST /2/media/upload",
        data={"media_category": category(item)},
        files=files,
    )
    data = _data(response)
    if data.get("processing_info"):
        await wait_until_processed(platform, ctx, str(data["id"]), data["processing_info"])
    return str(data["id"])


async def _upload_chunked(platform: XPlatform, ctx: AccountContext, item: MediaItem) -> str:
    """INIT (JSON), APPEND each segment (multipart), FINALIZE, then poll STATUS while processing."""
    init = {"media_type": item.mime_type, "total_bytes": item.size, "media_category": category(item)}
    response = await _call(
        platform, ctx, "POST", "/2/media/upload/initialize", "POST /2/media/upload/initialize", json=init
    )
    media_id = str(_data(response)["id"])
    content = item.read_bytes()
    for index, offset in enumerate(range(0, len(content), CHUNK_BYTES)):
        segment = content[offset : offset + CHUNK_BYTES]
        await _call(
            platform,
            ctx,
            "POST",
            f"/2/media/upload/{media_id}/append",
            "POST /2/media/upload/:id/append",
            data={"segment_index": str(index)},
            files={"media": (item.path.name, segment, "application/octet-stream")},
        )
    response = await _call(
        platform, ctx, "POST", f"/2/media/upload/{media_id}/finalize", "POST /2/media/upload/:id/finalize"
    )
    info = _data(response).get("processing_info")
    if info:
        await wait_until_processed(platform, ctx, media_id, info)
    return media_id


async def wait_until_processed(
    platform: XPlatform, ctx: AccountContext, media_id: str, info: dict[str, Any]
) -> None:
    """Poll GET /2/media/upload?command=STATUS, waiting `check_after_secs` between polls."""
    waited = 0.0
    while True:
        state = str(info.get("state", ""))
        if state == "succeeded":
            return
        if state == "failed":
            raise Rejected(f"X could not process media {media_id}: {json.dumps(info)}", code="media_failed")
        delay = float(info.get("check_after_secs") or 1)
        if waited + delay > MAX_PROCESSING_WAIT_S:
            raise Transient(f"X was still processing media {media_id} after {waited:.0f} s.")
        await platform.sleep(delay)
        waited += delay
        response = await _call(
            platform,
            ctx,
            "GET",
            "/2/media/upload",
            "GET /2/media/upload",
            params={"command": "STATUS", "media_id": media_id},
        )
        info = _data(response).get("processing_info") or {"state": "succeeded"}


async def set_alt_text(platform: XPlatform, ctx: AccountContext, media_id: str, text: str) -> None:
    """POST /2/media/metadata `{id, metadata: {alt_text: {text}}}` (createMediaMetadata)."""
    body = {"id": media_id, "metadata": {"alt_text": {"text": text[:1000]}}}
    await _call(platform, ctx, "POST", "/2/media/metadata", "POST /2/media/metadata", json=body)
