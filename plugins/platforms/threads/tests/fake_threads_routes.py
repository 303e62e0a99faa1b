"""FakeThreads' content routes: containers, publishing, listings, replies, delete, quota and insights."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from ocma_core.testing import FakeRequest, FakeResponse
from ocma_core.testing.fake_graph import graph_error, params

if TYPE_CHECKING:
    from fake_threads import FakeThreads

USER = r"(?P<user>me|25000000000000001)"
REPLY_CONTROLS = (
    "everyone",
    "accounts_you_follow",
    "mentioned_only",
    "parent_post_author_only",
    "followers_only",
)
POST_METRICS = ("views", "likes", "replies", "reposts", "quotes", "shares")
USER_METRICS = ("views", "likes", "replies", "reposts", "quotes", "clicks", "followers_count")


EMOJI = ((0x1F000, 0x1FAFF), (0x2600, 0x27BF), (0x2B00, 0x2BFF), (0xFE00, 0xFE0F), (0x200D, 0x200D))


def counted_length(text: str) -> int:
    """Threads' count: an emoji (with its joiners and selectors) counts as its UTF-8 bytes, other characters 1."""
    return sum(len(ch.encode()) if any(a <= ord(ch) <= b for a, b in EMOJI) else 1 for ch in text)


def _download(fake: FakeThreads, url: str) -> bool:
    try:
        answer = httpx.get(url, timeout=5.0, follow_redirects=True)
    except httpx.HTTPError:
        return False
    if answer.status_code != 200 or not answer.content:
        return False
    with fake.lock:
        fake.state.fetched.append(url)
    return True


def _status(container: dict[str, Any], fake: FakeThreads) -> tuple[str, str]:
    if container["status"] == "IN_PROGRESS":
        if container["polls"] > 0:
            container["polls"] -= 1
        else:
            container["status"] = "ERROR" if container["error"] else "FINISHED"
    if container["status"] == "FINISHED" and container["children"]:
        codes = [_status(fake.state.containers[c], fake)[0] for c in container["children"]]
        if "ERROR" in codes:
            return "ERROR", "A carousel item failed"
        if "IN_PROGRESS" in codes:
            return "IN_PROGRESS", ""
    return container["status"], container["error"] or ""


def _store_post(fake: FakeThreads, container: dict[str, Any]) -> FakeResponse:
    """Publish a container (the call the kit's failures are injected into)."""
    parent = container.get("reply_to")
    if (parent and fake.state.replies_24h >= fake.reply_quota) or (
        not parent and fake.state.posts_24h >= fake.post_quota
    ):
        return graph_error("Application request limit reached", 9, 2207042, status=403)
    failure, delay = fake.injected_now()
    if failure is not None:
        return failure
    post_id = fake.next_id()
    with fake.lock:
        container["status"] = "PUBLISHED"
        container["post_id"] = post_id
        if parent:
            fake.state.replies_24h += 1
        else:
            fake.state.posts_24h += 1
        fake.state.posts[post_id] = {
            "id": post_id,
            "text": container["text"],
            "reply_to": parent,
            "media_type": "TEXT_POST"
            if container["type"] == "TEXT"
            else container["type"] + ("_ALBUM" if container["type"] == "CAROUSEL" else ""),
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "created": time.time(),
            "permalink": f"https://www.threads.net/@ocma.bakery/post/{post_id[-9:]}",
            "reply_control": container["reply_control"],
            "insights": {},
        }
    return FakeResponse(200, {"id": post_id}, delay_s=delay)


def _create(fake: FakeThreads, fields: dict[str, str]) -> FakeResponse:
    kind = fields.get("media_type", "TEXT").upper()
    text = fields.get("text", "")
    if kind not in ("TEXT", "IMAGE", "VIDEO", "CAROUSEL"):
        return graph_error(f"(#100) Invalid media_type {kind}", 100)
    if counted_length(text) > 500:
        return graph_error("(#100) Param text must be at most 500 characters long.", 100)
    if fields.get("reply_control", "everyone") not in REPLY_CONTROLS:
        return graph_error("(#100) Invalid reply_control", 100)
    reply_to = fields.get("reply_to_id")
    if reply_to and reply_to not in fake.state.posts:
        return graph_error(f"(#100) The reply_to_id {reply_to} does not exist.", 100, 4279009)
    children = [c for c in fields.get("children", "").split(",") if c]
    if kind == "CAROUSEL" and not 2 <= len(children) <= 20:
        return graph_error("(#100) A carousel has 2 to 20 items.", 100)
    if kind == "TEXT" and not text:
        return graph_error("(#100) A text post needs text.", 100)
    url = fields.get("image_url") if kind == "IMAGE" else fields.get("video_url") if kind == "VIDEO" else None
    if kind in ("IMAGE", "VIDEO") and not (url and _download(fake, url)):
        return graph_error(
            "Media download has failed. The media URI doesn't meet our requirements.", 9004, 2207052
        )
    behaviour = fake.take(fake.processing) if kind in ("IMAGE", "VIDEO") else None
    container = {
        "id": fake.next_id(),
        "type": kind,
        "text": text,
        "reply_to": reply_to,
        "reply_control": fields.get("reply_control", "everyone"),
        "carousel_item": fields.get("is_carousel_item") == "true",
        "children": children,
        "status": "IN_PROGRESS" if behaviour else "FINISHED",
        "polls": behaviour[0] if behaviour else 0,
        "error": behaviour[1] if behaviour else None,
    }
    with fake.lock:
        fake.state.containers[container["id"]] = container
    if kind == "TEXT" and fields.get("auto_publish_text") == "true":
        return _store_post(fake, container)
    return FakeResponse(200, {"id": container["id"]})


def _listing(fake: FakeThreads, request: FakeRequest, posts: list[dict[str, Any]]) -> FakeResponse:
    wanted = (request.query.get("fields") or "id").split(",")
    posts = sorted(posts, key=lambda p: p["created"], reverse=True)[: int(request.query.get("limit") or 25)]
    data = []
    for post in posts:
        item = {k: post[k] for k in wanted if k in post} | {"id": post["id"]}
        if "is_reply_owned_by_me" in wanted:
            item["is_reply_owned_by_me"] = True
        data.append(item)
    return FakeResponse(200, {"data": data, "paging": {"cursors": {"before": "b", "after": "a"}}})


def install_routes(fake: FakeThreads) -> None:
    """Every content route."""

    def authed(request: FakeRequest) -> FakeResponse | None:
        token = fake.caller(request)
        return token if isinstance(token, FakeResponse) else None

    @fake.route("POST", rf"/v1\.0/{USER}/threads")
    def create(request: FakeRequest) -> FakeResponse:
        return authed(request) or _create(fake, params(request))

    @fake.route("POST", rf"/v1\.0/{USER}/threads_publish")
    def publish(request: FakeRequest) -> FakeResponse:
        refused = authed(request)
        if refused:
            return refused
        container = fake.state.containers.get(params(request).get("creation_id", ""))
        if container is None or container["carousel_item"]:
            return graph_error("(#100) Invalid creation_id", 100)
        status, _ = _status(container, fake)
        if status != "FINISHED":
            return graph_error(f"The media is not ready for publishing ({status}).", 24, 4279009)
        return _store_post(fake, container)

    @fake.route("GET", rf"/v1\.0/{USER}/threads_publishing_limit")
    def quota(request: FakeRequest) -> FakeResponse:
        entry = {
            "quota_usage": fake.state.posts_24h,
            "config": {"quota_total": fake.post_quota, "quota_duration": 86400},
            "reply_quota_usage": fake.state.replies_24h,
            "reply_config": {"quota_total": fake.reply_quota, "quota_duration": 86400},
        }
        return authed(request) or FakeResponse(200, {"data": [entry]})

    @fake.route("GET", rf"/v1\.0/{USER}/threads")
    def own_posts(request: FakeRequest) -> FakeResponse:
        top = [p for p in fake.state.posts.values() if not p["reply_to"]]
        return authed(request) or _listing(fake, request, top)

    @fake.route("GET", rf"/v1\.0/{USER}/threads_insights")
    def user_insights(request: FakeRequest) -> FakeResponse:
        names = (request.query.get("metric") or "").split(",")
        if any(n not in USER_METRICS for n in names):
            return graph_error("(#100) metric must be one of " + ", ".join(USER_METRICS), 100)
        data = []
        for name in names:
            entry: dict[str, Any] = {
                "name": name,
                "period": "day",
                "title": name,
                "description": name,
                "id": f"{USER}/insights/{name}/day",
            }
            if name == "views":
                entry["values"] = [
                    {"value": 3, "end_time": "2026-11-30T08:00:00+0000"},
                    {"value": 4, "end_time": "2026-12-01T08:00:00+0000"},
                ]
            else:
                total = fake.state.followers if name == "followers_count" else 0
                entry["total_value"] = {"value": total}
            data.append(entry)
        return authed(request) or FakeResponse(200, {"data": data})

    @fake.route("GET", r"/v1\.0/(?P<id>\d+)/replies")
    def replies(request: FakeRequest) -> FakeResponse:
        below = [p for p in fake.state.posts.values() if p["reply_to"] == request.params["id"]]
        return authed(request) or _listing(fake, request, below)

    @fake.route("GET", r"/v1\.0/(?P<id>\d+)/insights")
    def insights(request: FakeRequest) -> FakeResponse:
        post = fake.state.posts.get(request.params["id"])
        names = (request.query.get("metric") or "").split(",")
        if post is None or any(n not in POST_METRICS for n in names):
            return graph_error("(#100) Invalid metric or object", 100)
        data = [
            {
                "name": n,
                "period": "lifetime",
                "values": [{"value": post["insights"].get(n, 0)}],
                "title": n,
                "description": n,
                "id": f"{post['id']}/insights/{n}/lifetime",
            }
            for n in names
        ]
        return authed(request) or FakeResponse(200, {"data": data})

    @fake.route("GET", r"/v1\.0/(?P<id>\d+)")
    def read(request: FakeRequest) -> FakeResponse:
        refused = authed(request)
        if refused:
            return refused
        object_id = request.params["id"]
        container = fake.state.containers.get(object_id)
        if container is not None:
            status, error = _status(container, fake)
            body = {"id": object_id, "status": status}
            if error:
                body["error_message"] = error
            return FakeResponse(200, body)
        post = fake.state.posts.get(object_id)
        if post is None:
            return graph_error(f"Object with ID '{object_id}' does not exist", 100, 33)
        wanted = (request.query.get("fields") or "id").split(",")
        return FakeResponse(200, {k: post[k] for k in wanted if k in post} | {"id": object_id})

    @fake.route("DELETE", r"/v1\.0/(?P<id>\d+)")
    def delete(request: FakeRequest) -> FakeResponse:
        refused = authed(request)
        if refused:
            return refused
        with fake.lock:
            post = fake.state.posts.pop(request.params["id"], None)
        if post is None:
            return graph_error(f"Object with ID '{request.params['id']}' does not exist", 100, 33)
        return FakeResponse(200, {"success": True, "deleted_id": post["id"]})
