"""The pin, media and analytics routes of the Pinterest fake (a mixin of FakePinterest)."""

from __future__ import annotations

import base64
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from fake_pinterest_base import Token, error, iso

from ocma_core.testing import FakeRequest, FakeResponse

if TYPE_CHECKING:
    from fake_pinterest import FakePinterest

MAGIC = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"GIF8": "image/gif",
    b"RIFF": "image/webp",
}
UPLOAD_FIELDS = ("key", "policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-security-token",
                 "x-amz-signature", "Content-Type")  # fmt: skip
PIN_METRICS = ("IMPRESSION", "SAVE", "PIN_CLICK", "OUTBOUND_CLICK", "SAVE_RATE")


def image_type(data: bytes) -> str | None:
    """The image type of some bytes by their magic number."""
    return next((kind for magic, kind in MAGIC.items() if data.startswith(magic)), None)


def fetch(url: str) -> bytes | None:
    """Download an image URL as Pinterest would (None when it cannot)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return bytes(answer.read())
    except (OSError, ValueError):
        return None


def _image(url: str) -> dict[str, Any]:
    return {"150x150": {"url": url, "width": 150, "height": 150}}


class PinRoutes:
    """POST/GET/DELETE pins, media registration and upload, analytics."""

    def _media_for(self: FakePinterest, source: dict[str, Any]) -> tuple[dict[str, Any], str] | FakeResponse:
        """The stored Pin's `media` and creative type, or Pinterest's refusal."""
        kind = source["source_type"]
        if kind in ("image_url", "image_base64"):
            problem = self._check_image(source)
            return (
                error(400, 1, problem)
                if problem
                else (
                    {"media_type": "image", "images": _image("https://i.pinimg.com/150x150/p.jpg")},
                    "REGULAR",
                )
            )
        if kind in ("multiple_image_urls", "multiple_image_base64"):
            for item in source["items"]:
                problem = self._check_image(item if kind.endswith("base64") else {"url": item["url"]})
                if problem:
                    return error(400, 1, problem)
            items = [
                {"item_type": "image", "images": _image("https://i.pinimg.com/150x150/c.jpg")}
                for _ in source["items"]
            ]
            return {"media_type": "multiple_images", "items": items}, "CAROUSEL"
        if kind == "video_id":
            with self.lock:
                media = self.state.media.get(source["media_id"])
            if media is None or media["status"] != "succeeded":
                return error(
                    400, 1, f"Media {source['media_id']} is not ready (status {media and media['status']})."
                )
            if not any(
                k in source for k in ("cover_image_url", "cover_image_data", "cover_image_key_frame_time")
            ):
                return error(400, 1, "A video pin needs a cover image or a key frame time.")
            return {"media_type": "video", "cover_image_url": "https://i.pinimg.com/videos/cover.jpg",
                    "duration": None, "height": None, "width": None, "video_url": None}, "VIDEO"  # fmt: skip
        return error(400, 1, f"OCMA's fake does not take {kind} sources.")

    def _check_image(self, source: dict[str, Any]) -> str | None:
        if "url" in source:
            data = fetch(source["url"])
            if data is None:
                return f"Sorry we could not fetch the image ({source['url']})."
            return None if image_type(data) else "The image URL does not point at an image."
        data = base64.b64decode(source["data"])
        if image_type(data) != source["content_type"]:
            return f"The base64 data is not a {source['content_type']} image."
        return None

    def _create_pin(
        self: FakePinterest, request: FakeRequest, token: Token | None, data: dict[str, Any]
    ) -> FakeResponse:
        body = data["body"]
        failure = self._next_failure()
        if failure and failure[0] == "rate_limit":
            headers = {
                "x-ratelimit-limit": str(self.per_day),
                "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": str(int(failure[1])),
            }
            return error(429, 429, "You have exceeded your rate limit. Try again later.", headers)
        if failure and failure[0] == "auth":
            return error(401, 2, "Authentication failed.")
        if failure and failure[0] == "server_error":
            return error(500, 500, "Internal server error.")
        if self.trial_app:  # Pinterest's answer as quoted in gitroomhq/postiz-app#1084
            return error(
                403,
                29,
                "Apps with Trial access may not create Pins in production https://api.pinterest.com - use API Sandbox https://api-sandbox.pinterest.com instead.",
            )
        board = self.state.boards.get(str(body.get("board_id") or ""))
        if board is None:
            return error(403, 403, "Not authorized to access board or Pin.")
        section = body.get("board_section_id")
        if section and section not in [s["id"] for s in self.state.sections.get(board["id"], [])]:
            return error(404, 404, "Board section not found.")
        if "media_source" not in body:
            return error(400, 1, "A pin needs a media_source.")
        media = self._media_for(body["media_source"])
        if isinstance(media, FakeResponse):
            return media
        pin_id = self.new_id()
        pin = {
            "id": pin_id, "created_at": iso(time.time()), "board_id": board["id"], "board_section_id": section,
            "title": body.get("title"), "description": body.get("description"), "link": body.get("link"),
            "alt_text": body.get("alt_text"), "dominant_color": body.get("dominant_color"), "parent_pin_id": None,
            "media": media[0], "creative_type": media[1], "is_owner": True, "has_been_promoted": False,
            "is_standard": True, "board_owner": {"username": "ocma_pins"},
        }  # fmt: skip
        with self.lock:
            self.state.pins[pin_id] = pin
            board["pin_count"] += 1
        delay = 3.0 if failure and failure[0] == "timeout_after_store" else 0.0
        return FakeResponse(201, dict(pin), delay_s=delay)

    def _list_pins(
        self: FakePinterest, request: FakeRequest, token: Token | None, data: dict[str, Any]
    ) -> FakeResponse:
        with self.lock:
            newest_first = [dict(p) for p in reversed(self.state.pins.values())]
        return self._page(newest_first, data["query"])

    def _get_pin(
        self: FakePinterest, request: FakeRequest, token: Token | None, data: dict[str, Any]
    ) -> FakeResponse:
        with self.lock:
            pin = self.state.pins.get(request.params["pin_id"])
            counts = dict(self.state.metrics.get(request.params["pin_id"], {}))
        if pin is None:
            return error(404, 404, "Pin not found.")
        pin = dict(pin)
        if data["query"].get("pin_metrics"):
            lifetime = {"impression": counts.get("IMPRESSION", 0), "pin_click": counts.get("PIN_CLICK", 0),
                        "clickthrough": counts.get("OUTBOUND_CLICK", 0), "reaction": 0, "comment": 0}  # fmt: skip
            pin["pin_metrics"] = {"90d": {k: lifetime[k] for k in ("pin_click", "impression", "clickthrough")},
                                  "lifetime_metrics": lifetime}  # fmt: skip
        return FakeResponse(200, pin)

    def _delete_pin(
        self: FakePinterest, request: FakeRequest, token: Token | None, data: dict[str, Any]
    ) -> FakeResponse:
        with self.lock:
            pin = self.state.pins.pop(request.params["pin_id"], None)
        if pin is None:
            return error(404, 404, "Pin not found.")
        return FakeResponse(204, None)

    def _pin_analytics(
        self: FakePinterest, request: FakeRequest, token: Token | None, data: dict[str, Any]
    ) -> FakeResponse:
        query = data["query"]
        start, end = date.fromisoformat(query["start_date"]), date.fromisoformat(query["end_date"])
        today = datetime.now(UTC).date()
        if start < today - timedelta(days=90) or end < start:
            return error(400, 1, "start_date must be within the last 90 days and before end_date.")
        with self.lock:
            if request.params["pin_id"] not in self.state.pins:
                return error(404, 404, "Pin not found.")
            counts = dict(self.state.metrics.get(request.params["pin_id"], {}))
        wanted = [str(m) for m in query["metric_types"]]
        summary = {m: counts.get(m, 0) for m in wanted if m != "SAVE_RATE"}
        daily = [{"date": today.isoformat(), "data_status": "READY", "metrics": dict(summary)}]
        return FakeResponse(200, {"all": {"daily_metrics": daily, "summary_metrics": summary,
                                          "lifetime_metrics": {"TOTAL_COMMENTS": 0, "TOTAL_REACTIONS": 0}}})  # fmt: skip

    def _account_analytics(
        self: FakePinterest, request: FakeRequest, token: Token | None, data: dict[str, Any]
    ) -> FakeResponse:
        wanted = [str(m) for m in data["query"].get("metric_types", ["IMPRESSION"])]
        with self.lock:
            totals = {
                m: sum(c.get(m, 0) for c in self.state.metrics.values())
                for m in wanted
                if not m.endswith("_RATE")
            }
        day = {"date": datetime.now(UTC).date().isoformat(), "data_status": "READY", "metrics": dict(totals)}
        return FakeResponse(200, {"all": {"daily_metrics": [day], "summary_metrics": totals}})

    # ----- video upload ------------------------------------------------------------------------------
    def _register_media(
        self: FakePinterest, request: FakeRequest, token: Token | None, data: dict[str, Any]
    ) -> FakeResponse:
        media_id = self.new_id()
        params = {name: f"{name}-{media_id}" for name in UPLOAD_FIELDS}
        params["Content-Type"] = "multipart/form-data"
        with self.lock:
            self.state.media[media_id] = {"status": "registered", "params": params, "polls": 0}
        return FakeResponse(201, {"media_id": media_id, "media_type": "video",
                                  "upload_url": f"{self.base_url}/s3-upload/", "upload_parameters": params})  # fmt: skip

    def _s3_upload(self: FakePinterest, request: FakeRequest) -> FakeResponse:
        """S3's POST object: every upload parameter must come back as a field, the file last, no bearer token."""
        if request.header("authorization"):
            return FakeResponse(
                400, b"<Error><Code>InvalidArgument</Code></Error>", {"Content-Type": "application/xml"}
            )
        parts = request.multipart()
        key = parts["key"].text() if "key" in parts else ""
        media_id = key.rsplit("-", 1)[-1]
        with self.lock:
            media = self.state.media.get(media_id)
        if media is None or "file" not in parts or list(parts)[-1] != "file":
            return FakeResponse(
                400, b"<Error><Code>MalformedPOSTRequest</Code></Error>", {"Content-Type": "application/xml"}
            )
        for name, value in media["params"].items():
            if name not in parts or parts[name].text() != value:
                return FakeResponse(
                    403, b"<Error><Code>AccessDenied</Code></Error>", {"Content-Type": "application/xml"}
                )
        with self.lock:
            self.state.uploads[media_id] = parts["file"].data
            media["status"] = "processing"
        return FakeResponse(204, None)

    def _get_media(
        self: FakePinterest, request: FakeRequest, token: Token | None, data: dict[str, Any]
    ) -> FakeResponse:
        media_id = request.params["media_id"]
        with self.lock:
            media = self.state.media.get(media_id)
            if media is None:
                return error(404, 404, "Media not found.")
            if media["status"] == "processing":
                media["polls"] += 1
                if media["polls"] > self.video_polls:
                    media["status"] = "failed" if self.fail_video else "succeeded"
            state = media["status"]
        return FakeResponse(200, {"media_id": media_id, "media_type": "video", "status": state})
