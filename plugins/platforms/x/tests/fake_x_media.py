"""The v2 media endpoints of FakeX: one-shot upload, INIT/APPEND/FINALIZE/STATUS, alt-text metadata."""

from __future__ import annotations

import struct
import time
from typing import TYPE_CHECKING, Any

from fake_x_base import JSON, Token, invalid_request, not_found

from ocma_core.testing import FakeRequest, FakeResponse

if TYPE_CHECKING:
    from fake_x import FakeX

EXPIRES_S = 86400
KEY_PREFIX = {"tweet_image": "3", "tweet_gif": "16", "tweet_video": "7", "amplify_video": "13"}


def image_info(data: bytes) -> dict[str, Any] | None:
    """Width, height and type of a PNG, GIF or JPEG, read from its header (None when not an image)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return {"w": width, "h": height, "image_type": "image/png"}
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return {"w": width, "h": height, "image_type": "image/gif"}
    if data[:3] == b"\xff\xd8\xff":
        return {"w": 0, "h": 0, "image_type": "image/jpeg"}
    return None


def install_media_routes(fake: FakeX) -> None:
    """Register the media endpoints on the fake."""

    def record(token: Token, category: str, **extra: Any) -> dict[str, Any]:
        media_id = fake.new_id()
        media = {
            "id": media_id,
            "owner": token.user_id,
            "category": category,
            "state": "",
            "segments": {},
            "media_key": f"{KEY_PREFIX.get(category, '3')}_{media_id}",
            "alt_text": None,
            "polls": 0,
            **extra,
        }
        with fake.lock:
            fake.state.media[media_id] = media
        return media

    def owned(request_id: str, token: Token) -> dict[str, Any] | None:
        with fake.lock:
            media = fake.state.media.get(request_id)
        return media if media is not None and media["owner"] == token.user_id else None

    def upload(request: FakeRequest, token: Token, parsed: dict[str, Any]) -> FakeResponse:
        form = parsed["body"]
        if not form:
            return invalid_request("media upload needs multipart/form-data or JSON with media", "media")
        data = form["media"] if isinstance(form["media"], bytes) else b""
        category = form["media_category"]
        info = image_info(data)
        if category in ("tweet_image", "tweet_gif", "dm_image", "dm_gif") and info is None:
            return invalid_request("media type unrecognized.", "media")
        media = record(token, category, state="succeeded", size=len(data))
        body = {
            "id": media["id"],
            "media_key": media["media_key"],
            "size": len(data),
            "expires_after_secs": EXPIRES_S,
        }
        if info is not None:
            body["image"] = info
        return FakeResponse(200, {"data": body}, {"Content-Type": JSON})

    def initialize(request: FakeRequest, token: Token, parsed: dict[str, Any]) -> FakeResponse:
        body = parsed["body"]
        if "total_bytes" not in body or "media_type" not in body:
            return invalid_request("media_type and total_bytes are required", "total_bytes")
        media = record(
            token,
            body.get("media_category", "tweet_video"),
            state="uploading",
            total_bytes=body["total_bytes"],
            media_type=body["media_type"],
        )
        answer = {"id": media["id"], "media_key": media["media_key"], "expires_after_secs": EXPIRES_S}
        return FakeResponse(200, {"data": answer}, {"Content-Type": JSON})

    def append(request: FakeRequest, token: Token, parsed: dict[str, Any]) -> FakeResponse:
        media = owned(request.params["id"], token)
        if media is None:
            return not_found("media", request.params["id"])
        if media["state"] != "uploading":
            return invalid_request("Segments can only be appended before FINALIZE.", "id", media["id"])
        form = parsed["body"]
        media["segments"][int(form["segment_index"])] = form["media"]
        return FakeResponse(
            200, {"data": {"expires_at": int(time.time()) + EXPIRES_S}}, {"Content-Type": JSON}
        )

    def finalize(request: FakeRequest, token: Token, parsed: dict[str, Any]) -> FakeResponse:
        media = owned(request.params["id"], token)
        if media is None:
            return not_found("media", request.params["id"])
        indexes = sorted(media["segments"])
        size = sum(len(media["segments"][i]) for i in indexes)
        if (
            media["state"] != "uploading"
            or indexes != list(range(len(indexes)))
            or size != media["total_bytes"]
        ):
            return invalid_request(
                f"File size {size} does not match total_bytes or segments are missing.", "id"
            )
        media.update(state="pending", size=size)
        answer = {
            "id": media["id"],
            "media_key": media["media_key"],
            "size": size,
            "expires_after_secs": EXPIRES_S,
            "processing_info": {"state": "pending", "check_after_secs": fake.check_after_secs},
        }
        return FakeResponse(200, {"data": answer}, {"Content-Type": JSON})

    def status(request: FakeRequest, token: Token, parsed: dict[str, Any]) -> FakeResponse:
        media = owned(str(parsed["query"]["media_id"]), token)
        if media is None:
            return not_found("media", str(parsed["query"]["media_id"]), "media_id")
        if parsed["query"].get("command") != "STATUS":
            return invalid_request("command must be STATUS", "command")
        info: dict[str, Any]
        if media["state"] in ("pending", "in_progress"):
            media["polls"] += 1
            if media["polls"] > fake.processing_polls:
                media["state"] = "failed" if fake.fail_processing else "succeeded"
            else:
                media["state"] = "in_progress"
        if media["state"] == "in_progress":
            progress = int(100 * media["polls"] / (fake.processing_polls + 1))
            info = {
                "state": "in_progress",
                "check_after_secs": fake.check_after_secs,
                "progress_percent": progress,
            }
        else:
            info = {"state": media["state"], "progress_percent": 100}
        answer = {
            "id": media["id"],
            "media_key": media["media_key"],
            "size": media.get("size", 0),
            "expires_after_secs": EXPIRES_S,
            "processing_info": info,
            "video": {"video_type": "video/mp4"},
        }
        return FakeResponse(200, {"data": answer}, {"Content-Type": JSON})

    def metadata(request: FakeRequest, token: Token, parsed: dict[str, Any]) -> FakeResponse:
        body = parsed["body"]
        media = owned(body["id"], token)
        if media is None:
            return not_found("media", body["id"])
        alt = (body.get("metadata") or {}).get("alt_text")
        if alt is not None:
            media["alt_text"] = alt["text"]
        associated = {"alt_text": {"text": media["alt_text"]}} if media["alt_text"] is not None else {}
        return FakeResponse(
            200, {"data": {"id": media["id"], "associated_metadata": associated}}, {"Content-Type": JSON}
        )

    fake.api("POST", "/2/media/upload", upload)
    fake.api("GET", "/2/media/upload", status)
    fake.api("POST", "/2/media/upload/initialize", initialize)
    fake.api("POST", "/2/media/upload/{id}/append", append)
    fake.api("POST", "/2/media/upload/{id}/finalize", finalize)
    fake.api("POST", "/2/media/metadata", metadata)
