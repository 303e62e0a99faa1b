"""Page videos through Meta's resumable upload (`upload_phase` start → transfer … → finish).

Meta's Video API ("Resumable upload", "Publish a video to a Page"), on `graph-video.facebook.com`:
`POST /{page}/videos` with `upload_phase=start&file_size=` answers `{video_id, upload_session_id,
start_offset, end_offset}`; each `upload_phase=transfer` sends the bytes from `start_offset` to `end_offset`
as the multipart `video_file_chunk` and answers the next offsets (equal when all is sent); `upload_phase=
finish` with `description` (and `title`) publishes it — the call that can post twice, so a lost answer there
is Unconfirmed. Meta then processes the video: `GET /{video}?fields=status,post_id,permalink_url` reads
`status.video_status` processing → ready | error. Until ready the engine holds the post as pending under
`video:<video id>` and asks `check_pending` (no sleeping inside publish).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ocma_core import AccountContext, MediaItem, PostContent, PublishResult, Rejected, Transient

if TYPE_CHECKING:
    from ocma_facebook.platform import FacebookPlatform

PREFIX = "video:"
MAX_CHUNKS = 10_000


async def _phase(
    platform: FacebookPlatform, ctx: AccountContext, page: str, creates: bool, **fields: Any
) -> Any:
    response = await platform.send(
        "POST",
        f"{platform.video_api_base}/{platform.version}/{page}/videos",
        ctx=ctx,
        bucket="publish",
        expect_effect=creates,
        params=platform.auth_params(ctx.tokens.access_token),
        **fields,
    )
    platform.raise_for_status(response, effect=creates)
    return response.json()


async def upload(
    platform: FacebookPlatform, ctx: AccountContext, page: str, item: MediaItem, content: PostContent
) -> str:
    """Start, transfer every chunk, finish; the video's id (invisible until finish, so earlier failures are safe)."""
    data = item.read_bytes()
    started = await _phase(
        platform, ctx, page, False, data={"upload_phase": "start", "file_size": str(len(data))}
    )
    video_id, session = str(started["video_id"]), str(started["upload_session_id"])
    start, end = int(started["start_offset"]), int(started["end_offset"])
    for _ in range(MAX_CHUNKS):
        if start >= end:
            break
        answer = await _phase(
            platform,
            ctx,
            page,
            False,
            data={"upload_phase": "transfer", "upload_session_id": session, "start_offset": str(start)},
            files={"video_file_chunk": (item.path.name or "video.mp4", data[start:end], item.mime_type)},
        )
        start, end = int(answer["start_offset"]), int(answer["end_offset"])
    else:
        raise Transient("Facebook kept asking for more video chunks; the upload was abandoned.")
    finish = {"upload_phase": "finish", "upload_session_id": session, "description": content.text}
    if content.options.get("video_title"):
        finish["title"] = str(content.options["video_title"])
    answer = await _phase(platform, ctx, page, True, data=finish)
    if not answer.get("success", True):
        raise Rejected("Facebook did not accept the finished video upload.")
    return video_id


async def check(platform: FacebookPlatform, ctx: AccountContext, handle: str) -> PublishResult:
    """Ask once about a processing video: still processing (pending), ready (its post), or error (Rejected)."""
    video_id = handle.removeprefix(PREFIX)
    body = await platform.call(
        "GET", video_id, ctx, bucket="check_pending", params={"fields": "id,status,post_id,permalink_url"}
    )
    status = body.get("status") or {}
    state = str(status.get("video_status") or "")
    if state == "error":
        errors = ((status.get("processing_phase") or {}).get("errors")) or [{}]
        reason = errors[0].get("message") if isinstance(errors[0], dict) else None
        raise Rejected(
            f"Facebook could not process the video: {reason or 'video_status is error'}", code="video_error"
        )
    if state != "ready":
        return PublishResult(external_id=handle, pending=True, raw={"video_status": state})
    post_id = str(body.get("post_id") or video_id)
    link = body.get("permalink_url")
    url = f"https://www.facebook.com{link}" if isinstance(link, str) and link.startswith("/") else link
    return PublishResult(
        external_id=post_id, url=url or platform.public_url(ctx, post_id), part_ids=[post_id]
    )


async def find(
    platform: FacebookPlatform, ctx: AccountContext, page: str, content: PostContent
) -> str | None:
    """A finished upload of this video post (same description) among the Page's recent videos: its post id,
    or the video's pending handle while Meta still processes it (a read: it uploads nothing)."""
    body = await platform.call(
        "GET",
        f"{page}/videos",
        ctx,
        bucket="posts",
        params={"fields": "id,description,post_id", "limit": "25"},
    )
    for item in body.get("data") or []:
        if isinstance(item, dict) and str(item.get("description") or "") == content.text and item.get("id"):
            return str(item.get("post_id") or PREFIX + str(item["id"]))
    return None
