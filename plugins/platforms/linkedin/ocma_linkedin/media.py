"""Uploading media through LinkedIn's Images API and Videos API before a post references it.

Images: POST /rest/images?action=initializeUpload {initializeUploadRequest:{owner}} answers
{value:{uploadUrl, uploadUrlExpiresAt, image:"urn:li:image:..."}}; the bytes go to uploadUrl by PUT.
Videos: POST /rest/videos?action=initializeUpload with fileSizeBytes answers {value:{video, uploadToken,
uploadInstructions:[{uploadUrl, firstByte, lastByte}]}}; each part is PUT and its ETag kept; then
POST /rest/videos?action=finalizeUpload {finalizeUploadRequest:{video, uploadToken, uploadedPartIds}};
the video is usable once GET /rest/videos/{urn} reports status AVAILABLE.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from ocma_core import MediaItem, Rejected, Transient, Unconfirmed
from ocma_linkedin.errors import raise_for_linkedin
from ocma_linkedin.restli import encode

if TYPE_CHECKING:
    import httpx

    from ocma_core import AccountContext
    from ocma_linkedin.platform import LinkedInPlatform


async def _call(
    platform: LinkedInPlatform, method: str, url: str, ctx: AccountContext, **kwargs: Any
) -> httpx.Response:
    """A media call; nothing is public before the post exists, so an unknown outcome is only Transient."""
    try:
        response = await platform.send(method, url, ctx=ctx, bucket="media", **kwargs)
    except Unconfirmed as exc:
        raise Transient(
            f"A LinkedIn media upload did not finish ({exc.message}); no post was created."
        ) from exc
    raise_for_linkedin(response)
    return response


async def upload_image(platform: LinkedInPlatform, ctx: AccountContext, owner: str, item: MediaItem) -> str:
    """Upload one image for `owner` (the post's author) and return its urn:li:image URN."""
    init = await _call(
        platform,
        "POST",
        f"{platform.api_base}/rest/images?action=initializeUpload",
        ctx,
        headers=platform.rest_headers(ctx),
        json={"initializeUploadRequest": {"owner": owner}},
    )
    value = init.json().get("value") or {}
    upload_url, image = value.get("uploadUrl"), value.get("image")
    if not upload_url or not image:
        raise Transient(f"LinkedIn's initializeUpload answer lacked uploadUrl or image: {value}")
    await _call(
        platform,
        "PUT",
        upload_url,
        ctx,
        content=item.read_bytes(),
        headers={"Authorization": f"Bearer {ctx.tokens.access_token}", "Content-Type": item.mime_type},
    )
    return str(image)


async def upload_video(platform: LinkedInPlatform, ctx: AccountContext, owner: str, item: MediaItem) -> str:
    """Upload a video in the parts LinkedIn asks for, finalize it and wait until it is AVAILABLE."""
    data = item.read_bytes()
    request = {"owner": owner, "fileSizeBytes": len(data), "uploadCaptions": False, "uploadThumbnail": False}
    init = await _call(
        platform,
        "POST",
        f"{platform.api_base}/rest/videos?action=initializeUpload",
        ctx,
        headers=platform.rest_headers(ctx),
        json={"initializeUploadRequest": request},
    )
    value = init.json().get("value") or {}
    video, instructions = value.get("video"), value.get("uploadInstructions") or []
    if not video or not instructions:
        raise Transient(
            f"LinkedIn's video initializeUpload answer lacked video or uploadInstructions: {value}"
        )
    etags: list[str] = []
    for part in instructions:
        first, last = int(part["firstByte"]), int(part["lastByte"])
        put = await _call(
            platform,
            "PUT",
            part["uploadUrl"],
            ctx,
            content=data[first : last + 1],
            headers={
                "Authorization": f"Bearer {ctx.tokens.access_token}",
                "Content-Type": "application/octet-stream",
            },
        )
        etag = put.headers.get("etag")
        if not etag:
            raise Transient("LinkedIn accepted a video part without an ETag; the upload cannot be finalized.")
        etags.append(etag)
    finalize = {"video": video, "uploadToken": value.get("uploadToken", ""), "uploadedPartIds": etags}
    await _call(
        platform,
        "POST",
        f"{platform.api_base}/rest/videos?action=finalizeUpload",
        ctx,
        headers=platform.rest_headers(ctx),
        json={"finalizeUploadRequest": finalize},
    )
    await _wait_available(platform, ctx, str(video))
    return str(video)


async def _wait_available(platform: LinkedInPlatform, ctx: AccountContext, video: str) -> None:
    deadline = time.monotonic() + platform.video_wait_s
    while True:
        response = await _call(
            platform,
            "GET",
            f"{platform.api_base}/rest/videos/{encode(video)}",
            ctx,
            headers=platform.rest_headers(ctx),
        )
        status = response.json().get("status")
        if status == "AVAILABLE":
            return
        if status == "PROCESSING_FAILED":
            reason = response.json().get("processingFailureReason", "no reason given")
            raise Rejected(
                f"LinkedIn could not process the video {video}: {reason}", code="PROCESSING_FAILED"
            )
        if time.monotonic() >= deadline:
            raise Transient(
                f"LinkedIn is still processing the video {video} (status {status}); try again later."
            )
        await asyncio.sleep(platform.video_poll_s)
