"""FakeTikTok's posting and Display API routes: creator info, inits, chunk uploads, status, video query/list.

Chunk uploads follow the media-transfer guide: `PUT /upload/{publish_id}/` with `Content-Range: bytes
{first}-{last}/{total}`, in order, each chunk as the init declared (`chunk_size`, the last one the rest);
206 while chunks are missing, 201 once the file is whole. The fake applies TikTok's rules to the init
(5 MiB-64 MB chunks, last up to 128 MB, 1-1000 chunks, `total_chunk_count = floor(size / chunk_size)`,
single-chunk files whole) and keeps the bytes so a test can compare them with the original.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import httpx

from ocma_core.testing import FakeRequest, FakeResponse

if TYPE_CHECKING:
    from fake_tiktok import FakeTikTok, Publish

RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
PRIVACY = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY")


def chunk_rule_break(fake: FakeTikTok, size: int, chunk: int, count: int) -> str:
    """What in an init's source_info breaks TikTok's chunk rules ("" when nothing does)."""
    if size <= 0 or not 1 <= count <= 1000:
        return f"total_chunk_count {count} outside 1-1000"
    if count == 1:
        return "" if chunk == size <= fake.max_chunk else "a single chunk must hold the whole video"
    if not fake.min_chunk <= chunk <= fake.max_chunk:
        return f"chunk_size {chunk} outside {fake.min_chunk}-{fake.max_chunk}"
    if count != size // chunk:
        return "total_chunk_count must be floor(video_size / chunk_size)"
    if size - (count - 1) * chunk > fake.max_last_chunk:
        return "the last chunk is over 128 MB"
    return ""


def _injected(fake: FakeTikTok) -> tuple[FakeResponse | None, float]:
    """An injected failure of an init call, and the delay of a timeout after storing."""
    from fake_tiktok import envelope_error

    due = fake.take(fake.injected)
    if due is None:
        return None, 0.0
    kind, _retry_after_s, _ = due
    if kind == "rate_limit":
        return envelope_error(429, "rate_limit_exceeded", "API rate limit exceeded, please retry later."), 0.0
    if kind == "auth":
        return envelope_error(
            401, "access_token_invalid", "The access token is invalid or not found in the request."
        ), 0.0
    if kind == "server_error":
        return envelope_error(500, "internal_error", "Something went wrong. Please try again later."), 0.0
    if kind == "spam":
        return envelope_error(
            403,
            "spam_risk_too_many_posts",
            "The daily post cap from the API is reached for the current user.",
        ), 0.0
    return None, 3.0  # timeout_after_store: stored, the answer comes after the client gave up


def _moderation(fake: FakeTikTok, publish: Publish) -> None:
    due = fake.take(fake.moderation)
    if due is not None:
        publish.polls_left, publish.final_fail = int(due[0]), str(due[1])


def _received(fake: FakeTikTok, publish: Publish) -> None:
    """The whole file (or the pulled media) is in: published at once, or processed for a while."""
    if publish.polls_left == 0 and not publish.final_fail:
        _finish(fake, publish)
    else:
        publish.status = "PROCESSING_DOWNLOAD" if publish.source == "PULL_FROM_URL" else "PROCESSING_UPLOAD"


def _finish(fake: FakeTikTok, publish: Publish) -> None:
    if publish.final_fail:
        publish.status, publish.fail_reason = "FAILED", publish.final_fail
    elif publish.mode == "inbox":
        publish.status = "SEND_TO_USER_INBOX"
    else:
        publish.status = "PUBLISH_COMPLETE"
        if publish.privacy == "PUBLIC_TO_EVERYONE":
            publish.post_id = fake.next_id()


def _pull(fake: FakeTikTok, urls: list[str]) -> FakeResponse | None:
    """Download media as TikTok's servers would; an error envelope when a URL does not serve it."""
    from fake_tiktok import envelope_error

    for url in urls:
        answer = httpx.get(url, timeout=10)
        if answer.status_code != 200:
            return envelope_error(400, "invalid_params", f"Failed to download media from {url}.")
        with fake.lock:
            fake.state.fetched.append(url)
    return None


def _check_post_info(fake: FakeTikTok, info: dict[str, Any]) -> FakeResponse | None:
    from fake_tiktok import envelope_error

    privacy = info.get("privacy_level")
    if privacy not in PRIVACY or privacy not in fake.creator["privacy_level_options"]:
        return envelope_error(
            400, "privacy_level_option_mismatch", "privacy_level is not one of the creator's options."
        )
    if not fake.audited and privacy != "SELF_ONLY":
        return envelope_error(
            403,
            "unaudited_client_can_only_post_to_private_accounts",
            "Unaudited clients can only post to a private account.",
        )
    return None


def install_post_routes(fake: FakeTikTok) -> None:
    """The Content Posting API and the Display API's video routes."""
    from fake_tiktok import envelope_error, ok

    @fake.route("POST", r"/v2/post/publish/creator_info/query/")
    def creator_info(request: FakeRequest) -> FakeResponse:
        return fake.authorized(request) or ok(dict(fake.creator))

    @fake.route("POST", r"/v2/post/publish/video/init/")
    def video_init(request: FakeRequest) -> FakeResponse:
        return init(fake, request, "video", "direct")

    @fake.route("POST", r"/v2/post/publish/inbox/video/init/")
    def inbox_init(request: FakeRequest) -> FakeResponse:
        return init(fake, request, "video", "inbox")

    @fake.route("POST", r"/v2/post/publish/content/init/")
    def content_init(request: FakeRequest) -> FakeResponse:
        body = request.json() or {}
        if body.get("media_type") != "PHOTO":
            return envelope_error(400, "invalid_params", "media_type must be PHOTO.")
        return init(fake, request, "photo", "inbox" if body.get("post_mode") == "MEDIA_UPLOAD" else "direct")

    @fake.route("PUT", r"/upload/(?P<publish_id>[^/]+)/")
    def put(request: FakeRequest) -> FakeResponse:
        return put_chunk(fake, request)

    @fake.route("POST", r"/v2/post/publish/status/fetch/")
    def status_fetch(request: FakeRequest) -> FakeResponse:
        return status(fake, request)

    install_video_routes(fake)


def init(fake: FakeTikTok, request: FakeRequest, kind: str, mode: str) -> FakeResponse:
    """A video (direct or inbox) or photo init: checked, then stored awaiting its upload, or pulled."""
    from fake_tiktok import Publish, envelope_error

    denied = fake.authorized(request)
    if denied is not None:
        return denied
    if "application/json" not in request.header("content-type"):
        return envelope_error(400, "invalid_params", "Content-Type must be application/json.")
    body = request.json() or {}
    info, source = body.get("post_info") or {}, body.get("source_info") or {}
    problem = _check_post_info(fake, info) if mode == "direct" else None
    if problem is not None:
        return problem
    failure, delay = _injected(fake)
    if failure is not None:
        return failure
    said = info.get("description") or info.get("title") if kind == "photo" else info.get("title")
    pulled = source.get("source") == "PULL_FROM_URL"
    publish = Publish(
        publish_id=f"v_pub_{'url' if pulled else 'file'}~v2-1.{fake.next_id()}",
        kind=kind,
        mode=mode,
        text=str(said or ""),
        privacy=str(info.get("privacy_level") or "SELF_ONLY"),
        source=str(source.get("source") or ""),
        post_info=info,
    )
    _moderation(fake, publish)
    answer = (
        _await_upload(fake, publish, source)
        if publish.source == "FILE_UPLOAD"
        else _pulled(fake, publish, source)
    )
    if answer.status == 200:
        answer.delay_s = delay
    return answer


def _await_upload(fake: FakeTikTok, publish: Publish, source: dict[str, Any]) -> FakeResponse:
    from fake_tiktok import envelope_error, ok

    size, chunk, count = (int(source.get(k) or 0) for k in ("video_size", "chunk_size", "total_chunk_count"))
    problem = chunk_rule_break(fake, size, chunk, count)
    if problem:
        return envelope_error(400, "invalid_params", f"Invalid source_info: {problem}.")
    publish.video_size, publish.chunk_size, publish.chunk_count = size, chunk, count
    publish.status = "AWAITING_UPLOAD"
    with fake.lock:
        fake.state.publishes[publish.publish_id] = publish
    upload_url = f"{fake.base_url}/upload/{publish.publish_id}/?upload_token={publish.publish_id[-8:]}"
    return ok({"publish_id": publish.publish_id, "upload_url": upload_url})


def _pulled(fake: FakeTikTok, publish: Publish, source: dict[str, Any]) -> FakeResponse:
    from fake_tiktok import envelope_error, ok

    urls = source.get("photo_images") if publish.kind == "photo" else [source.get("video_url")]
    if source.get("source") != "PULL_FROM_URL" or not urls or not all(isinstance(u, str) for u in urls):
        return envelope_error(400, "invalid_params", "source_info is invalid.")
    problem = _pull(fake, urls)
    if problem is not None:
        return problem
    with fake.lock:
        fake.state.publishes[publish.publish_id] = publish
        _received(fake, publish)
    return ok({"publish_id": publish.publish_id})


def put_chunk(fake: FakeTikTok, request: FakeRequest) -> FakeResponse:
    """One chunk: exactly the next range the init declared, with a matching length and a video type."""
    from fake_tiktok import envelope_error

    with fake.lock:
        publish = fake.state.publishes.get(request.params["publish_id"])
        if publish is None or publish.status != "AWAITING_UPLOAD":
            return envelope_error(404, "invalid_params", "No upload is expected at this URL.")
        match = RANGE.fullmatch(request.header("content-range"))
        index = publish.chunks_received
        first = index * publish.chunk_size
        last = publish.video_size - 1 if index == publish.chunk_count - 1 else first + publish.chunk_size - 1
        if match is None or tuple(int(g) for g in match.groups()) != (first, last, publish.video_size):
            expected = f"bytes {first}-{last}/{publish.video_size}"
            return envelope_error(416, "invalid_params", f"Expected Content-Range {expected}.")
        length = int(request.header("content-length") or -1)
        if len(request.body) != last - first + 1 or length != len(request.body):
            return envelope_error(400, "invalid_file_upload", "The chunk's length does not match its range.")
        if not request.header("content-type").startswith("video/"):
            return envelope_error(400, "invalid_file_upload", "Content-Type must be a video type.")
        publish.received += request.body
        publish.chunks_received += 1
        late = 3.0 if publish.chunks_received in fake.lost_chunk_answers else 0.0
        fake.lost_chunk_answers.discard(publish.chunks_received)
        if publish.chunks_received < publish.chunk_count:
            return FakeResponse(206, None, delay_s=late)
        _received(fake, publish)
        return FakeResponse(201, None, delay_s=late)


def status(fake: FakeTikTok, request: FakeRequest) -> FakeResponse:
    """status/fetch: each read moves a processed or moderated publish one step on."""
    from fake_tiktok import envelope_error, ok

    with fake.lock:
        fake.status_reads += 1
        if fake.status_reads == fake.expire_at_status_read:
            fake.expire_tokens()  # the access token runs out while the post is in moderation
    denied = fake.authorized(request)
    if denied is not None:
        return denied
    with fake.lock:
        publish = fake.state.publishes.get(str((request.json() or {}).get("publish_id")))
        if publish is None:
            return envelope_error(400, "invalid_publish_id", "The publish_id does not exist.")
        moderated = publish.status == "PUBLISH_COMPLETE" and publish.post_id is None and publish.polls_left
        if publish.status.startswith("PROCESSING") or moderated:
            publish.polls_left -= 1
            if publish.polls_left <= 0:
                _finish(fake, publish)
            elif publish.polls_left == 1 and not publish.final_fail and publish.mode == "direct":
                publish.status = "PUBLISH_COMPLETE"  # out of processing, in moderation: no public id yet
        data: dict[str, Any] = {
            "status": "PROCESSING_UPLOAD" if publish.status == "AWAITING_UPLOAD" else publish.status,
            "uploaded_bytes": len(publish.received),
            "publicaly_available_post_id": [publish.post_id] if publish.post_id is not None else [],
        }
        if publish.fail_reason:
            data["fail_reason"] = publish.fail_reason
    return ok(data)


def _video(publish: Publish) -> dict[str, Any]:
    return {
        "id": str(publish.post_id),
        "title": publish.text if publish.kind == "video" else str(publish.post_info.get("title") or ""),
        "video_description": publish.text,
        "create_time": int(publish.created),
        "share_url": f"https://www.tiktok.com/@ocma.bakery/video/{publish.post_id}",
        "view_count": 100 + len(publish.text),
        "like_count": 10,
        "comment_count": 2,
        "share_count": 1,
    }


def install_video_routes(fake: FakeTikTok) -> None:
    """`video/query` (≤ 20 ids) and `video/list` (newest first, ≤ 20)."""
    from fake_tiktok import envelope_error, ok

    def public(fields: str) -> list[dict[str, Any]]:
        wanted = [f for f in fields.split(",") if f] or ["id"]
        with fake.lock:
            found = [_video(p) for p in fake.state.publishes.values() if p.post_id is not None]
        return [{k: v for k, v in video.items() if k in wanted} for video in found]

    @fake.route("POST", r"/v2/video/query/")
    def query(request: FakeRequest) -> FakeResponse:
        denied = fake.authorized(request)
        if denied is not None:
            return denied
        ids = ((request.json() or {}).get("filters") or {}).get("video_ids") or []
        if not 1 <= len(ids) <= 20:
            return envelope_error(400, "invalid_params", "video_ids must hold 1-20 ids.")
        fields = request.query.get("fields", "")
        return ok({"videos": [v for v in public(fields + ",id") if v["id"] in {str(i) for i in ids}]})

    @fake.route("POST", r"/v2/video/list/")
    def listing(request: FakeRequest) -> FakeResponse:
        denied = fake.authorized(request)
        if denied is not None:
            return denied
        count = int((request.json() or {}).get("max_count") or 10)
        if not 1 <= count <= 20:
            return envelope_error(400, "invalid_params", "max_count must be 1-20.")
        videos = list(reversed(public(request.query.get("fields", ""))))[:count]
        return ok({"videos": videos, "cursor": 0, "has_more": False})
