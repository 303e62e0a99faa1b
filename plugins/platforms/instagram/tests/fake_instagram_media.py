"""FakeInstagram's content routes: containers, media_publish, the quota, media, insights and account fields.

As Meta documents Content Publishing: `POST /{ig-user}/media` creates a container from a public `image_url`
or `video_url` (Meta downloads it: here, really, over HTTP) with `media_type` REELS, STORIES or CAROUSEL,
`caption`, `alt_text`, `is_carousel_item`, `children` (2-10 container ids). `GET /{container}?fields=
status_code,status` reads IN_PROGRESS, FINISHED, ERROR (with Meta's reason in `status`), EXPIRED or
PUBLISHED. `POST /{ig-user}/media_publish?creation_id=` publishes a FINISHED container (error 9007 /
2207027 when it is not ready) within the 24-hour quota of `content_publishing_limit` (error 9 / 2207042).
Caption rules (2,200 characters, 30 hashtags, 20 mentions) are refused with code 100.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from ocma_core.testing import FakeRequest, FakeResponse
from ocma_core.testing.fake_graph import graph_error, params

if TYPE_CHECKING:
    from fake_instagram import FakeInstagram

MEDIA_TYPES = ("REELS", "STORIES", "CAROUSEL", "IMAGE", "VIDEO")
METRICS = (
    "views",
    "reach",
    "likes",
    "comments",
    "shares",
    "saved",
    "total_interactions",
    "ig_reels_avg_watch_time",
)


def _download(fake: FakeInstagram, url: str, video: bool) -> FakeResponse | None:
    """Fetch a media URL as Meta's servers do; Meta's error when it cannot or the type is wrong."""
    try:
        answer = httpx.get(url, timeout=5.0, follow_redirects=True)
    except httpx.HTTPError:
        answer = None
    kind = answer.headers.get("content-type", "") if answer is not None else ""
    fits = kind.startswith("video/") if video else kind == "image/jpeg"
    if answer is None or answer.status_code != 200 or not fits or not answer.content:
        return graph_error(
            "Media download has failed. The media URI doesn't meet our requirements.",
            9004,
            2207052,
            error_user_title="Media download has failed",
        )
    with fake.lock:
        fake.state.fetched.append(url)
    return None


def _caption_error(caption: str) -> FakeResponse | None:
    if len(caption) > 2200:
        return graph_error("(#100) The caption is too long (2,200 characters at most).", 100, 2207003)
    if len(re.findall(r"#\w+", caption)) > 30:
        return graph_error("(#100) The caption has more than 30 hashtags.", 100, 2207004)
    if len(re.findall(r"@[\w.]+", caption)) > 20:
        return graph_error("(#100) The caption mentions more than 20 accounts.", 100, 2207005)
    return None


def _status(fake: FakeInstagram, container: dict[str, Any]) -> tuple[str, str]:
    """A container's status_code and status text (a carousel follows its children); reading it counts a poll."""
    if container["code"] == "IN_PROGRESS":
        if container["polls"] > 0:
            container["polls"] -= 1
        else:
            container["code"] = "ERROR" if container["error"] else "FINISHED"
    if container.get("children") and container["code"] in ("IN_PROGRESS", "FINISHED"):
        codes = [_status(fake, fake.state.containers[c])[0] for c in container["children"]]
        if "ERROR" in codes:
            return "ERROR", "Error: a carousel item failed to process"
        if "IN_PROGRESS" in codes:
            return "IN_PROGRESS", "In Progress: Media is still being processed."
    if time.time() - container["created"] > 86400 and container["code"] != "PUBLISHED":
        return "EXPIRED", "Expired: the container was not published within 24 hours"
    text = {
        "IN_PROGRESS": "In Progress: Media is still being processed.",
        "FINISHED": "Finished: Media has been uploaded and it is ready to be published.",
        "PUBLISHED": "Published: Media has been published.",
    }.get(container["code"], f"Error: {container['error']}")
    return container["code"], text


def _create(fake: FakeInstagram, fields: dict[str, str]) -> FakeResponse:
    kind = fields.get("media_type", "IMAGE").upper()
    if kind not in MEDIA_TYPES:
        return graph_error(f"(#100) Invalid media_type {kind}", 100)
    if kind == "VIDEO" and fields.get("is_carousel_item") != "true":  # still the type of a carousel's video
        return graph_error("(#100) The VIDEO media_type is deprecated; use REELS.", 100, 2207067)
    caption = fields.get("caption", "")
    refused = _caption_error(caption)
    if refused:
        return refused
    children = [c for c in fields.get("children", "").split(",") if c]
    if kind == "CAROUSEL":
        if not 2 <= len(children) <= 10:
            return graph_error("(#100) A carousel has 2 to 10 items.", 100, 2207028)
        for child in children:
            if not fake.state.containers.get(child, {}).get("carousel_item"):
                return graph_error(f"(#100) {child} is not a carousel item container.", 100)
    else:
        url = fields.get("video_url") or fields.get("image_url")
        if not url:
            return graph_error("(#100) The parameter image_url or video_url is required.", 100)
        failed = _download(fake, url, video=bool(fields.get("video_url")))
        if failed:
            return failed
    behaviour = fake.take(fake.processing)
    container_id = fake.next_id()
    with fake.lock:
        fake.state.containers[container_id] = {
            "id": container_id,
            "type": kind,
            "caption": caption,
            "alt_text": fields.get("alt_text", ""),
            "carousel_item": fields.get("is_carousel_item") == "true",
            "children": children,
            "code": "IN_PROGRESS" if behaviour else "FINISHED",
            "polls": behaviour[0] if behaviour else 0,
            "error": behaviour[1] if behaviour else None,
            "created": time.time(),
        }
    return FakeResponse(200, {"id": container_id}, fake.usage_headers())


def _publish(fake: FakeInstagram, fields: dict[str, str]) -> FakeResponse:
    container = fake.state.containers.get(fields.get("creation_id", ""))
    if container is None or container["carousel_item"]:
        return graph_error("(#100) Invalid creation_id", 100)
    code, text = _status(fake, container)
    if code == "PUBLISHED":
        return graph_error("(#100) The media has already been published.", 100, 2207050)
    if code != "FINISHED":
        return graph_error(f"Media ID is not available ({text})", 9007, 2207027)
    if fake.state.published_24h >= fake.quota_total:
        return graph_error("Application request limit reached", 9, 2207042, status=403)
    failure, delay = fake.injected_now()
    if failure is not None:
        return failure
    media_id = fake.next_id()
    with fake.lock:
        container["code"] = "PUBLISHED"
        fake.state.published_24h += 1
        fake.state.media[media_id] = {
            "id": media_id,
            "caption": container["caption"],
            "media_product_type": {"REELS": "REELS", "STORIES": "STORY"}.get(container["type"], "FEED"),
            "media_type": {"REELS": "VIDEO", "CAROUSEL": "CAROUSEL_ALBUM"}.get(container["type"], "IMAGE"),
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "created": time.time(),
            "permalink": f"https://www.instagram.com/p/{media_id[-11:]}/",
            "like_count": 0,
            "comments_count": 0,
            "insights": {},
        }
    return FakeResponse(200, {"id": media_id}, fake.usage_headers(), delay_s=delay)


def install_media_routes(fake: FakeInstagram) -> None:
    """Container, publish, quota, media listing, object reads and insights routes."""
    v = re.escape("v24.0")

    def authed(request: FakeRequest, user: str | None = None) -> FakeResponse | None:
        token = fake.caller(request)
        if isinstance(token, FakeResponse):
            return token
        if user is not None and user not in ("me", "17841400000000001"):
            return graph_error("(#100) Unsupported request", 100, 33)
        return None

    @fake.route("POST", rf"/{v}/(?P<user>\w+)/media")
    def create(request: FakeRequest) -> FakeResponse:
        return authed(request, request.params["user"]) or _create(fake, params(request))

    @fake.route("POST", rf"/{v}/(?P<user>\w+)/media_publish")
    def publish(request: FakeRequest) -> FakeResponse:
        return authed(request, request.params["user"]) or _publish(fake, params(request))

    @fake.route("GET", rf"/{v}/(?P<user>\w+)/content_publishing_limit")
    def quota(request: FakeRequest) -> FakeResponse:
        refused = authed(request, request.params["user"])
        if refused:
            return refused
        entry = {
            "quota_usage": fake.state.published_24h,
            "config": {"quota_total": fake.quota_total, "quota_duration": 86400},
        }
        return FakeResponse(200, {"data": [entry]}, fake.usage_headers())

    @fake.route("GET", rf"/{v}/(?P<user>me|17841400000000001)/media")
    def listing(request: FakeRequest) -> FakeResponse:
        refused = authed(request, request.params["user"])
        if refused:
            return refused
        held = sorted(fake.state.media.values(), key=lambda m: m["created"], reverse=True)
        wanted = (request.query.get("fields") or "id").split(",")
        data = [{k: m[k] for k in wanted if k in m} | {"id": m["id"]} for m in held]
        return FakeResponse(
            200, {"data": data[: int(request.query.get("limit") or 25)]}, fake.usage_headers()
        )

    @fake.route("GET", rf"/{v}/(?P<id>\d+)/insights")
    def insights(request: FakeRequest) -> FakeResponse:
        refused = authed(request)
        if refused:
            return refused
        media = fake.state.media.get(request.params["id"])
        if media is None:
            return graph_error("(#100) Unsupported get request.", 100, 33)
        names = [m for m in (request.query.get("metric") or "").split(",") if m]
        bad = [m for m in names if m not in METRICS]
        if not names or bad:
            return graph_error(
                f"(#100) metric[0] must be one of the following values: {', '.join(METRICS)}", 100
            )
        if not fake.insights_ready:
            return FakeResponse(200, {"data": []}, fake.usage_headers())
        data = [
            {
                "name": name,
                "period": "lifetime",
                "values": [{"value": media["insights"].get(name, 0)}],
                "title": name.replace("_", " ").title(),
                "description": f"The number of {name}",
                "id": f"{media['id']}/insights/{name}/lifetime",
            }
            for name in names
        ]
        return FakeResponse(200, {"data": data}, fake.usage_headers())

    @fake.route("GET", rf"/{v}/(?P<id>\d+)")
    def read(request: FakeRequest) -> FakeResponse:
        refused = authed(request)
        if refused:
            return refused
        object_id = request.params["id"]
        wanted = (request.query.get("fields") or "id").split(",")
        if object_id == "17841400000000001":
            counts = {
                "followers_count": fake.state.followers,
                "follows_count": 3,
                "media_count": len(fake.state.media),
            }
            counts |= {"username": "ocma.bakery", "name": "OCMA Bakery"}
            return FakeResponse(
                200, {k: counts[k] for k in wanted if k in counts} | {"id": object_id}, fake.usage_headers()
            )
        if object_id in fake.state.containers:
            code, text = _status(fake, fake.state.containers[object_id])
            return FakeResponse(
                200, {"status_code": code, "status": text, "id": object_id}, fake.usage_headers()
            )
        media = fake.state.media.get(object_id)
        if media is None:
            return graph_error(
                f"Unsupported get request. Object with ID '{object_id}' does not exist", 100, 33
            )
        return FakeResponse(
            200, {k: media[k] for k in wanted if k in media} | {"id": object_id}, fake.usage_headers()
        )
