"""Video pins: register the upload (POST /media), send the file to the upload URL as a multipart POST with
every `upload_parameters` field, then follow GET /media/{id} until Pinterest says `succeeded`.

While Pinterest processes the video the engine holds the target as pending under the handle
`media:<media_id>` and asks `check_pending_content` again later; the pin is created only once the media has
succeeded (a pin for an unprocessed video is refused)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ocma_core import AccountContext, MediaItem, Rejected, Transient

if TYPE_CHECKING:
    from ocma_pinterest.platform import PinterestPlatform

HANDLE_PREFIX = "media:"


def handle(media_id: str) -> str:
    """The pending handle of a video upload."""
    return f"{HANDLE_PREFIX}{media_id}"


def media_id_of(value: str) -> str | None:
    """The media id in a pending handle (None for a pin id)."""
    return value[len(HANDLE_PREFIX) :] if value.startswith(HANDLE_PREFIX) else None


async def register(platform: PinterestPlatform, ctx: AccountContext) -> dict[str, Any]:
    """POST /media {media_type: video}: the media id, the upload URL and its parameters."""
    # Registering publishes nothing: a lost answer is simply registered again (expect_effect=False).
    upload = await platform.call(
        ctx, "POST", "/media", "org_write", json={"media_type": "video"}, expect_effect=False
    )
    if not upload.get("media_id") or not upload.get("upload_url"):
        raise Transient(f"Pinterest registered the upload without a media id or upload URL: {upload}")
    return upload


async def send_file(platform: PinterestPlatform, upload: dict[str, Any], item: MediaItem) -> None:
    """The S3-style POST: every upload parameter as a form field, then the file (no Pinterest token)."""
    fields = {str(k): str(v) for k, v in (upload.get("upload_parameters") or {}).items()}
    name = item.path.name or "video.mp4"
    response = await platform.send(
        "POST", str(upload["upload_url"]), bucket="upload", expect_effect=False,
        data=fields, files={"file": (name, item.read_bytes(), item.mime_type)},
    )  # fmt: skip
    status = response.status_code
    if status < 300:
        return
    if status >= 500 or status in (408, 429):
        raise Transient(
            f"Pinterest's upload host failed ({status}); the upload is tried again.", status=status
        )
    raise Rejected(
        f"Pinterest's upload host refused the video ({status}): {response.text[:300]}", status=status
    )


async def status(platform: PinterestPlatform, ctx: AccountContext, media_id: str) -> str:
    """GET /media/{id}: registered, processing, succeeded or failed."""
    media = await platform.call(ctx, "GET", f"/media/{media_id}", "org_read")
    return str(media.get("status") or "registered")


async def upload(platform: PinterestPlatform, ctx: AccountContext, item: MediaItem) -> str:
    """Register the upload and send the file; the media id (Pinterest then processes it)."""
    registered = await register(platform, ctx)
    await send_file(platform, registered, item)
    return str(registered["media_id"])


def refuse_failed(media_id: str) -> Rejected:
    """The failure for a video Pinterest could not process."""
    return Rejected(
        f"Pinterest could not process the video (media {media_id} failed). Check its format (MP4/MOV, "
        "H.264, 4 s to 15 min) and post it again."
    )
