"""Publishing: creator info, the init calls (direct post, inbox draft, photos) and the status of a publish.

TikTok's Content Posting API (developers.tiktok.com/doc/content-posting-api-reference-direct-post,
-upload-video, -photo-post, -query-creator-info, -get-video-status):

1. `POST /v2/post/publish/creator_info/query/` — the privacy levels the creator may use now, the longest
   video they may post and whether they turned comments, duets or stitches off. OCMA checks the post
   against it before anything is created.
2. An init call creates the publish and answers `publish_id` (and `upload_url` for FILE_UPLOAD):
   `/v2/post/publish/video/init/` (direct post), `/v2/post/publish/inbox/video/init/` (a draft in the
   creator's TikTok inbox, scope video.upload) or `/v2/post/publish/content/init/` (photos, pulled from URLs).
3. For FILE_UPLOAD the chunks go up (ocma_tiktok.upload); PULL_FROM_URL has TikTok download OCMA's signed
   public media URL.
4. `POST /v2/post/publish/status/fetch/` follows it: PROCESSING_UPLOAD / PROCESSING_DOWNLOAD, then
   PUBLISH_COMPLETE, SEND_TO_USER_INBOX (a draft is waiting in the app) or FAILED with `fail_reason`. A public
   post is moderated first; its id (`publicaly_available_post_id`, TikTok's spelling) only appears after.

The engine holds the target as pending under the handle `<publish_id>:<public|private|inbox>` and asks
`check_pending` (status/fetch) until it ends; nothing here ever initialises the same post twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ocma_core import (
    AccountContext,
    MediaItem,
    PostContent,
    Problem,
    PublishResult,
    Rejected,
    Transient,
    Unconfirmed,
)
from ocma_core.platforms import graph
from ocma_tiktok import upload

if TYPE_CHECKING:
    from ocma_tiktok.platform import TikTokPlatform

SWITCHES = {
    "disable_comment": "comment_disabled",
    "disable_duet": "duet_disabled",
    "disable_stitch": "stitch_disabled",
}
MAX_PHOTOS = 35
MAX_PHOTO_TITLE = 90
DONE = ("PUBLISH_COMPLETE", "SEND_TO_USER_INBOX")


def media_problems(content: PostContent) -> list[Problem]:
    """TikTok photo posts take JPEG or WebP: a PNG is refused with what to do (the generic rules cover the
    rest: one video, or up to 35 photos, never both)."""
    return [
        Problem(
            "png_not_supported",
            f"TikTok photo posts take JPEG or WebP only, and {item.path.name} is a PNG: convert it to JPEG (or "
            "WebP) and attach that instead.",
            "media",
        )
        for item in content.media
        if item.mime_type == "image/png"
    ]


async def creator_info(platform: TikTokPlatform, ctx: AccountContext) -> dict[str, Any]:
    """`POST /v2/post/publish/creator_info/query/` (20 a minute per token)."""
    return await platform.call(
        "POST", "/v2/post/publish/creator_info/query/", ctx, bucket="creator_info", json={}
    )


def check_against_creator(content: PostContent, info: dict[str, Any]) -> dict[str, bool]:
    """Rejected when the post asks for what the creator cannot do now; the disable_* switches to send."""
    who = info.get("creator_username") or "the creator"
    privacy = content.options.get("privacy_level")
    allowed = [str(p) for p in info.get("privacy_level_options") or []]
    if privacy is not None and allowed and privacy not in allowed:
        raise Rejected(
            f"TikTok lets @{who} post only as {', '.join(allowed)} now, not {privacy}.", code="privacy_level"
        )
    video = next((m for m in content.media if m.is_video), None)
    limit = info.get("max_video_post_duration_sec")
    if video is not None and isinstance(limit, int | float):
        duration = upload.mp4_duration_s(video.path)
        if duration is not None and duration > limit:
            raise Rejected(
                f"The video is {duration:.0f} s long; TikTok lets @{who} post videos of at most {limit} s.",
                code="max_duration",
            )
    switches: dict[str, bool] = {}
    for option, disabled_field in SWITCHES.items():
        if info.get(disabled_field):
            if content.options.get(option) is False:
                what = {"disable_comment": "comments", "disable_duet": "duets"}.get(option, "stitches")
                raise Rejected(
                    f"@{who} turned {what} off on TikTok; the post cannot allow them.", code=option
                )
            switches[option] = True
        else:
            switches[option] = bool(content.options.get(option, False))
    return switches


def handle(publish_id: str, visibility: str) -> str:
    """The pending handle of a publish."""
    return f"{publish_id}:{visibility}"


def parse_handle(value: str) -> tuple[str, str]:
    """(publish id, visibility) of a pending handle."""
    publish_id, _, visibility = value.rpartition(":")
    return (publish_id, visibility) if publish_id else (value, "private")


async def start(platform: TikTokPlatform, ctx: AccountContext, content: PostContent) -> str:
    """Check the post against the creator, create the publish (uploading a file's chunks); the pending handle."""
    info = await creator_info(platform, ctx)
    switches = check_against_creator(content, info)
    privacy = str(content.options.get("privacy_level") or "SELF_ONLY")
    inbox = str(content.options.get("mode") or "direct") == "inbox"
    visibility = "inbox" if inbox else ("public" if privacy == "PUBLIC_TO_EVERYONE" else "private")
    photos = [m for m in content.media if not m.is_video]
    if photos:
        publish_id = await _photos(platform, ctx, content, photos, privacy, switches, inbox)
        return handle(publish_id, visibility)
    video = content.media[0]
    post_info = {"title": content.text, "privacy_level": privacy, **switches}
    for name in ("video_cover_timestamp_ms", "brand_content_toggle", "brand_organic_toggle", "is_aigc"):
        if name in content.options:
            post_info[name] = content.options[name]
    path = "/v2/post/publish/inbox/video/init/" if inbox else "/v2/post/publish/video/init/"
    body: dict[str, Any] = {} if inbox else {"post_info": post_info}
    if str(content.options.get("source") or "FILE_UPLOAD") == "PULL_FROM_URL":
        url = graph.public_media_url(video, "TikTok", platform.api_base)
        body["source_info"] = {"source": "PULL_FROM_URL", "video_url": url}
        data = await platform.call("POST", path, ctx, bucket="init", creates=True, json=body)
        return handle(str(data["publish_id"]), visibility)
    chunks = upload.plan(video.size, platform.chunk_size)
    body["source_info"] = chunks.source_info()
    try:
        data = await platform.call("POST", path, ctx, bucket="init", creates=True, json=body)
    except Unconfirmed as exc:  # no upload URL, no bytes: TikTok cannot post a video it never received
        raise Transient(f"{exc.message} (nothing was uploaded, so nothing was posted)") from exc
    await upload.send_chunks(platform, ctx, str(data["upload_url"]), video, chunks)
    return handle(str(data["publish_id"]), visibility)


async def _photos(
    platform: TikTokPlatform,
    ctx: AccountContext,
    content: PostContent,
    photos: list[MediaItem],
    privacy: str,
    switches: dict[str, bool],
    inbox: bool,
) -> str:
    """`POST /v2/post/publish/content/init/` with `media_type=PHOTO`: TikTok pulls the photos from their URLs."""
    urls = [graph.public_media_url(item, "TikTok", platform.api_base) for item in photos]
    title = str(content.options.get("title") or content.text.split("\n", 1)[0])[:MAX_PHOTO_TITLE]
    post_info: dict[str, Any] = {"title": title, "description": content.text}
    if not inbox:
        post_info.update(privacy_level=privacy, disable_comment=switches["disable_comment"])
        post_info["auto_add_music"] = bool(content.options.get("auto_add_music", True))
    body = {
        "post_info": post_info,
        "source_info": {
            "source": "PULL_FROM_URL",
            "photo_cover_index": int(content.options.get("photo_cover_index") or 0),
            "photo_images": urls,
        },
        "post_mode": "MEDIA_UPLOAD" if inbox else "DIRECT_POST",
        "media_type": "PHOTO",
    }
    data = await platform.call(
        "POST", "/v2/post/publish/content/init/", ctx, bucket="init", creates=True, json=body
    )
    return str(data["publish_id"])


async def status(platform: TikTokPlatform, ctx: AccountContext, pending: str) -> PublishResult:
    """One status/fetch: still pending, done (with the public post id once moderated), or Rejected."""
    publish_id, visibility = parse_handle(pending)
    data = await platform.call(
        "POST",
        "/v2/post/publish/status/fetch/",
        ctx,
        bucket="pending_status",
        json={"publish_id": publish_id},
    )
    state = str(data.get("status") or "")
    if state == "FAILED":
        reason = str(data.get("fail_reason") or "no reason given")
        raise Rejected(f"TikTok could not publish the post: {reason}", code=reason)
    ids = [
        str(i)
        for i in data.get("publicaly_available_post_id") or data.get("publicly_available_post_id") or []
    ]
    if state == "SEND_TO_USER_INBOX" or (state == "PUBLISH_COMPLETE" and visibility == "inbox"):
        return PublishResult(
            external_id=publish_id, part_ids=[publish_id], raw={"status": state, "inbox": True}
        )
    if state == "PUBLISH_COMPLETE" and (ids or visibility != "public"):
        post_id = ids[0] if ids else publish_id
        url = platform.video_url(ctx, post_id) if ids else None
        return PublishResult(
            external_id=post_id, url=url, part_ids=[post_id], raw={"status": state, "publish_id": publish_id}
        )
    note = "in moderation" if state == "PUBLISH_COMPLETE" else state.lower() or "processing"
    return PublishResult(external_id=pending, pending=True, raw={"status": state, "note": note})
