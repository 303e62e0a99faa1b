"""FakeFacebook's Page routes: feed posts, photos (uploaded or fetched from a URL), deletion, metrics.

As Meta's Pages API documents them: `POST /{page}/feed` (`message`, `link`, `published`, `attached_media[i]`
= `{"media_fbid": id}`) answers `{"id": "{page}_{post}"}`; `POST /{page}/photos` takes `url` (Meta downloads
it) or a multipart `source`, and answers `{"id", "post_id"}` (no `post_id` when `published=false`);
`POST /{page}/videos` is the resumable upload (`upload_phase` start, transfer, finish), `GET /{page}/videos`
lists uploaded videos and `GET /{video}` says `status.video_status`; `GET /{page}/posts` lists the Page's own posts newest first (`since` in unix seconds); `DELETE /{id}` answers
`{"success": true}`; `GET /{post}?fields=reactions.summary(total_count),comments.summary(total_count),shares`
gives the engagement (Meta leaves `shares` out when there are none); `GET /{post}/insights?metric=` answers
`{"data": [{name, period, values: [{value}], title, description, id}]}` or code 100 for a metric it does not
serve; `GET /{page}?fields=followers_count,fan_count`.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from ocma_core.testing import FakeRequest, FakeResponse
from ocma_core.testing.fake_graph import graph_error, multipart, params

if TYPE_CHECKING:
    from fake_facebook import FakeFacebook

TIMEOUT_DELAY_S = 3.0
INVALID_METRIC = "(#100) The value must be a valid insights metric"


def _page_call(fake: FakeFacebook, request: FakeRequest, page_id: str) -> Any:
    """The Page token of a call on `page_id`, or Meta's error."""
    token = fake.caller(request)
    if isinstance(token, FakeResponse):
        return token
    if token.kind != "page" or token.owner != page_id:
        return graph_error("(#200) The user hasn't authorized the application to perform this action", 200)
    return token


def _fetch(fake: FakeFacebook, url: str) -> bytes | FakeResponse:
    """Download a media URL as Meta does; Meta's error when it cannot."""
    try:
        response = httpx.get(url, timeout=5.0, follow_redirects=True)
    except httpx.HTTPError:
        return graph_error("(#324) Missing or invalid image file", 324)
    if response.status_code != 200 or not response.headers.get("content-type", "").startswith("image/"):
        return graph_error("(#324) Missing or invalid image file", 324)
    with fake.lock:
        fake.state.fetched.append(url)
    return response.content


def _store_post(fake: FakeFacebook, page_id: str, fields: dict[str, str], photos: list[str]) -> str:
    post_id = f"{page_id}_{fake.next_id()}"
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
    with fake.lock:
        fake.state.posts[post_id] = {
            "id": post_id,
            "page": page_id,
            "message": fields.get("message", ""),
            "link": fields.get("link"),
            "photos": photos,
            "created_time": created,
            "created": time.time(),
            "reactions": 0,
            "comments": 0,
            "shares": 0,
            "insights": {},
        }
    return post_id


def _video_phase(fake: FakeFacebook, page_id: str, request: FakeRequest) -> FakeResponse:
    """One call of the resumable upload: start, transfer (a multipart chunk at start_offset) or finish."""
    fields = params(request)
    phase = fields.get("upload_phase")
    if phase == "start":
        size = int(fields.get("file_size") or 0)
        if size <= 0:
            return graph_error("(#100) file_size is required", 100)
        video_id, session = fake.next_id(), fake.next_id()
        with fake.lock:
            fake.state.videos[video_id] = {
                "page": page_id,
                "session": session,
                "size": size,
                "data": b"",
                "state": "uploading",
            }
        end = min(size, fake.video_chunk)
        body = {
            "video_id": video_id,
            "upload_session_id": session,
            "start_offset": "0",
            "end_offset": str(end),
        }
        return FakeResponse(200, body, fake.usage_headers(page_id))
    video_id, video = next(
        ((k, v) for k, v in fake.state.videos.items() if v["session"] == fields.get("upload_session_id")),
        (None, None),
    )
    if video is None:
        return graph_error(
            "(#6000) There was a problem uploading your video file: invalid upload session", 6000
        )
    if phase == "transfer":
        chunk = multipart(request)[1].get("video_file_chunk", ("", b""))[1]
        if int(fields.get("start_offset") or -1) != len(video["data"]) or not chunk:
            return graph_error("(#6001) The start_offset does not match the bytes received", 6001, 1363019)
        video["data"] += chunk
        start = len(video["data"])
        end = min(video["size"], start + fake.video_chunk)
        return FakeResponse(
            200, {"start_offset": str(start), "end_offset": str(end)}, fake.usage_headers(page_id)
        )
    if phase == "finish":
        if len(video["data"]) != video["size"]:
            return graph_error("(#6000) The video file is incomplete", 6000)
        injected = fake.take_injected()
        if injected and injected[0] != "timeout_after_store":
            failure = fake.injected_failure(injected[0], injected[1], page_id)
            assert failure is not None
            return failure
        video.update(
            state="processing",
            polls=fake.video_polls,
            error=fake.video_error,
            message=fields.get("description", ""),
        )
        delay = TIMEOUT_DELAY_S if injected else 0.0
        return FakeResponse(200, {"success": True}, fake.usage_headers(page_id), delay_s=delay)
    return graph_error("(#100) Invalid upload_phase", 100)


def _video_status(fake: FakeFacebook, video_id: str) -> dict[str, Any]:
    """GET /{video}: its status; processing turns ready (a post appears) or error after `polls` reads."""
    video = fake.state.videos[video_id]
    if video["state"] == "processing":
        if video["polls"] > 0:
            video["polls"] -= 1
        elif video["error"]:
            video["state"] = "error"
        else:
            video["state"] = "ready"
            video["post_id"] = _store_post(fake, video["page"], {"message": video["message"]}, [])
            fake.state.posts[video["post_id"]]["video"] = video_id
    body: dict[str, Any] = {"id": video_id, "status": {"video_status": video["state"]}}
    if video["state"] == "error":
        body["status"]["processing_phase"] = {
            "status": "error",
            "errors": [{"code": 1363040, "message": video["error"]}],
        }
    if video.get("post_id"):
        body["post_id"] = video["post_id"]
        body["permalink_url"] = f"/{video['page']}/videos/{video_id}/"
    return body


def install_page_routes(fake: FakeFacebook) -> None:
    """Feed, photos, posts listing, object reads and deletes, insights."""
    v = re.escape("v24.0")

    @fake.route("POST", rf"/{v}/(?P<page>\d+)/feed")
    def feed(request: FakeRequest) -> FakeResponse:
        page_id = request.params["page"]
        token = _page_call(fake, request, page_id)
        if isinstance(token, FakeResponse):
            return token
        fields = params(request)
        attached = [
            json.loads(fields[k])["media_fbid"] for k in sorted(fields) if k.startswith("attached_media")
        ]
        if not (fields.get("message") or fields.get("link") or attached):
            return graph_error("(#100) Missing message or attachment", 100)
        for photo in attached:
            if photo not in fake.state.photos or fake.state.photos[photo]["page"] != page_id:
                return graph_error(f"(#100) Invalid media_fbid {photo}", 100)
        injected = fake.take_injected()
        if injected and injected[0] != "timeout_after_store":
            failure = fake.injected_failure(injected[0], injected[1], page_id)
            assert failure is not None
            return failure
        post_id = _store_post(fake, page_id, fields, attached)
        delay = TIMEOUT_DELAY_S if injected else 0.0
        return FakeResponse(200, {"id": post_id}, fake.usage_headers(page_id), delay_s=delay)

    @fake.route("POST", rf"/{v}/(?P<page>\d+)/photos")
    def photos(request: FakeRequest) -> FakeResponse:
        page_id = request.params["page"]
        token = _page_call(fake, request, page_id)
        if isinstance(token, FakeResponse):
            return token
        fields = params(request)
        files = multipart(request)[1] if request.header("content-type").startswith("multipart/") else {}
        if "source" in files:
            content: bytes | FakeResponse = files["source"][1]
        elif fields.get("url"):
            content = _fetch(fake, fields["url"])
        else:
            return graph_error("(#324) Requires upload file", 324)
        if isinstance(content, FakeResponse):
            return content
        published = fields.get("published", "true") != "false"
        injected = fake.take_injected() if published else None
        if injected and injected[0] != "timeout_after_store":
            failure = fake.injected_failure(injected[0], injected[1], page_id)
            assert failure is not None
            return failure
        photo_id = fake.next_id()
        with fake.lock:
            fake.state.photos[photo_id] = {
                "page": page_id,
                "bytes": content,
                "alt": fields.get("alt_text_custom", ""),
            }
        answer = {"id": photo_id}
        if published:
            caption = {"message": fields.get("caption") or fields.get("message", "")}
            answer["post_id"] = _store_post(fake, page_id, caption, [photo_id])
        delay = TIMEOUT_DELAY_S if injected else 0.0
        return FakeResponse(200, answer, fake.usage_headers(page_id), delay_s=delay)

    @fake.route("POST", rf"/{v}/(?P<page>\d+)/videos")
    def videos(request: FakeRequest) -> FakeResponse:
        page_id = request.params["page"]
        token = _page_call(fake, request, page_id)
        if isinstance(token, FakeResponse):
            return token
        return _video_phase(fake, page_id, request)

    @fake.route("POST", rf"/{v}/(?P<post>\d+_\d+)/comments")
    def add_comment(request: FakeRequest) -> FakeResponse:
        post = fake.state.posts.get(request.params["post"])
        token = fake.caller(request)
        if isinstance(token, FakeResponse):
            return token
        if post is None:
            return graph_error("(#100) Unsupported post request.", 100, 33, kind="GraphMethodException")
        message = params(request).get("message", "")
        if not message:
            return graph_error("(#100) Missing message", 100)
        injected = fake.take_injected()
        if injected and injected[0] != "timeout_after_store":
            failure = fake.injected_failure(injected[0], injected[1], post["page"])
            assert failure is not None
            return failure
        comment_id = f"{post['id'].split('_')[1]}_{fake.next_id()}"
        author = {"id": token.owner, "name": fake.state.pages.get(token.owner, {}).get("name", "")}
        with fake.lock:
            fake.state.comments[comment_id] = {
                "post": post["id"],
                "message": message,
                "from": author,
                "created": time.time(),
            }
        delay = TIMEOUT_DELAY_S if injected else 0.0
        return FakeResponse(200, {"id": comment_id}, fake.usage_headers(post["page"]), delay_s=delay)

    @fake.route("GET", rf"/{v}/(?P<post>\d+_\d+)/comments")
    def list_comments(request: FakeRequest) -> FakeResponse:
        token = fake.caller(request)
        if isinstance(token, FakeResponse):
            return token
        held = [(k, c) for k, c in fake.state.comments.items() if c["post"] == request.params["post"]]
        held.sort(
            key=lambda kc: kc[1]["created"], reverse=request.query.get("order") == "reverse_chronological"
        )
        data = [{"id": k, "message": c["message"], "from": c["from"]} for k, c in held]
        return FakeResponse(200, {"data": data, "paging": {}})

    @fake.route("GET", rf"/{v}/(?P<page>\d+)/videos")
    def list_videos(request: FakeRequest) -> FakeResponse:
        page_id = request.params["page"]
        token = _page_call(fake, request, page_id)
        if isinstance(token, FakeResponse):
            return token
        data = []
        for video_id, video in reversed(list(fake.state.videos.items())):
            if video["page"] == page_id and video["state"] != "uploading":
                item = {
                    "id": video_id,
                    "description": video.get("message", ""),
                    "updated_time": "2026-12-03T12:00:00+0000",
                }
                if video.get("post_id"):
                    item["post_id"] = video["post_id"]
                data.append(item)
        return FakeResponse(200, {"data": data}, fake.usage_headers(page_id))

    @fake.route("GET", rf"/{v}/(?P<page>\d+)/(?:posts|published_posts|feed)")
    def list_posts(request: FakeRequest) -> FakeResponse:
        page_id = request.params["page"]
        token = _page_call(fake, request, page_id)
        if isinstance(token, FakeResponse):
            return token
        since = float(request.query.get("since") or 0)
        limit = int(request.query.get("limit") or 25)
        with fake.lock:
            held = [
                p for p in fake.state.posts.values() if p["page"] == page_id and p["created"] >= since - 1
            ]
        held.sort(key=lambda p: p["created"], reverse=True)
        data = [{"id": p["id"], "message": p["message"], "created_time": p["created_time"]} for p in held]
        for item in data:
            if not item["message"]:
                del item["message"]  # Meta leaves out empty fields
        return FakeResponse(200, {"data": data[:limit]}, fake.usage_headers(page_id))

    @fake.route("GET", rf"/{v}/(?P<id>\d+(?:_\d+)?)")
    def read_object(request: FakeRequest) -> FakeResponse:
        object_id = request.params["id"]
        token = fake.caller(request)
        if isinstance(token, FakeResponse):
            return token
        if object_id in fake.state.videos:
            return FakeResponse(200, _video_status(fake, object_id), fake.usage_headers())
        if object_id in fake.state.pages:
            page = fake.state.pages[object_id]
            wanted = (request.query.get("fields") or "id,name").split(",")
            body = {k: page[k] for k in wanted if k in page}
            body["id"] = object_id
            return FakeResponse(200, body, fake.usage_headers(object_id))
        if object_id in fake.state.comments:
            return FakeResponse(200, {"id": object_id, "message": fake.state.comments[object_id]["message"]})
        post = fake.state.posts.get(object_id)
        if post is None:
            return graph_error(
                f"Unsupported get request. Object with ID '{object_id}' does not exist",
                100,
                33,
                kind="GraphMethodException",
            )
        body = {"id": object_id, "created_time": post["created_time"]}
        fields = request.query.get("fields") or ""
        if "reactions" in fields:
            body["reactions"] = {
                "data": [],
                "summary": {"total_count": post["reactions"], "viewer_reaction": "NONE"},
            }
        if "comments" in fields:
            body["comments"] = {
                "data": [],
                "summary": {"order": "ranked", "total_count": post["comments"], "can_comment": True},
            }
        if "shares" in fields and post["shares"]:
            body["shares"] = {"count": post["shares"]}
        return FakeResponse(200, body, fake.usage_headers(post["page"]))

    @fake.route("GET", rf"/{v}/(?P<id>\d+_\d+)/insights")
    def insights(request: FakeRequest) -> FakeResponse:
        post = fake.state.posts.get(request.params["id"])
        token = fake.caller(request)
        if isinstance(token, FakeResponse):
            return token
        if post is None:
            return graph_error("Unsupported get request.", 100, 33, kind="GraphMethodException")
        metrics = [m for m in (request.query.get("metric") or "").split(",") if m]
        if not metrics or any(m not in fake.valid_metrics for m in metrics):
            return graph_error(INVALID_METRIC, 100)
        data = []
        for name in metrics:
            value = post["insights"].get(name, {} if name.endswith("_by_type_total") else 0)
            data.append(
                {
                    "name": name,
                    "period": "lifetime",
                    "values": [{"value": value}],
                    "title": name.replace("_", " ").title(),
                    "description": f"Lifetime: {name}",
                    "id": f"{post['id']}/insights/{name}/lifetime",
                }
            )
        return FakeResponse(200, {"data": data, "paging": {}}, fake.usage_headers(post["page"]))

    @fake.route("DELETE", rf"/{v}/(?P<id>\d+_\d+|\d+)")
    def delete(request: FakeRequest) -> FakeResponse:
        object_id = request.params["id"]
        token = fake.caller(request)
        if isinstance(token, FakeResponse):
            return token
        with fake.lock:
            if object_id in fake.state.comments:
                fake.state.comments.pop(object_id)
                return FakeResponse(200, {"success": True})
            post = fake.state.posts.get(object_id)
            if post is None or post.get("deleted"):
                return graph_error(
                    f"(#100) Unsupported delete request. Object with ID '{object_id}' does not exist, cannot be "
                    "loaded due to missing permissions, or does not support this operation",
                    100,
                    33,
                    kind="GraphMethodException",
                )
            if token.kind != "page" or token.owner != post["page"]:
                return graph_error("(#200) Permissions error", 200)
            del fake.state.posts[object_id]
        return FakeResponse(200, {"success": True}, fake.usage_headers(post["page"]))
