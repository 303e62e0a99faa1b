"""Video and account metrics, the account's recent videos, and TikTok's signed webhooks.

- `POST /v2/video/query/?fields=...` with `{"filters": {"video_ids": [...]}}` (at most 20 ids a call, scope
  video.list) → `data.videos[]` with `like_count, comment_count, share_count, view_count`;
- `POST /v2/video/list/?fields=...` with `{"max_count": 20}` → the creator's newest public videos (used to
  find a post whose init answer was lost);
- `GET /v2/user/info/?fields=follower_count,following_count,likes_count,video_count` (scope user.info.stats).
- Webhooks (developers.tiktok.com/doc/webhooks-verification): header `TikTok-Signature: t=<unix>,s=<hex>`,
  s = hex(HMAC-SHA256(client_secret, f"{t}.{raw body}")); a delivery older than five minutes is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ocma_core import AccountContext, MetricsSnapshot, Rejected, WebhookEvent, numeric_values

if TYPE_CHECKING:
    from ocma_tiktok.platform import TikTokPlatform

MAX_IDS = 20
VIDEO_FIELDS = (
    "id,title,video_description,create_time,share_url,like_count,comment_count,share_count,view_count"
)
VIDEO_METRICS = ("view_count", "like_count", "comment_count", "share_count")
ACCOUNT_METRICS = ("follower_count", "following_count", "likes_count", "video_count")
SIGNATURE_TOLERANCE_S = 300
#: TikTok's events that end a publish; the core wakes the pending post they name (kind "publish.settled"),
#: whose status is then read with status/fetch as always.
SETTLING_EVENTS = frozenset(
    {
        "post.publish.complete",
        "post.publish.failed",
        "post.publish.publicly_available",
        "post.publish.inbox_delivered",
    }
)
SETTLED = "publish.settled"
REVOKED = "authorization.revoked"  # TikTok's authorization.removed, as the core names it
#: `authorization.removed`'s reason codes (developers.tiktok.com/doc/webhooks-events).
REMOVED_REASONS = {
    0: "unknown reason",
    1: "the user disconnected the app in TikTok",
    2: "the TikTok account was deleted",
    3: "the user's age changed",
    4: "the TikTok account was banned",
    5: "the developer revoked the authorization",
}


async def query_videos(
    platform: TikTokPlatform, ctx: AccountContext, ids: list[str]
) -> dict[str, dict[str, Any]]:
    """The videos with these ids, by id, asked 20 at a time."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), MAX_IDS):
        batch = ids[start : start + MAX_IDS]
        data = await platform.call(
            "POST",
            "/v2/video/query/",
            ctx,
            bucket="video_query",
            params={"fields": VIDEO_FIELDS},
            json={"filters": {"video_ids": batch}},
        )
        for video in data.get("videos") or []:
            if isinstance(video, dict) and video.get("id") is not None:
                found[str(video["id"])] = video
    return found


async def post(platform: TikTokPlatform, ctx: AccountContext, external_id: str) -> MetricsSnapshot:
    """Views, likes, comments and shares of one published video."""
    if not external_id.isdigit():
        raise Rejected(
            "TikTok gives metrics only for a public post's video id, and this post has none (it is private, a "
            "draft in the creator's inbox, or still in moderation)."
        )
    videos = platform.video_batch
    answer = videos.cached(ctx.account_id, external_id)
    if answer is None:
        asked = videos.batch_for(ctx.account_id, external_id)
        videos.store(ctx.account_id, asked, await query_videos(platform, ctx, asked), datetime.now(UTC))
        answer = videos.cached(ctx.account_id, external_id)
    video = answer.video if answer is not None else None
    if answer is None or video is None:
        raise Rejected(f"TikTok does not list video {external_id} for this account (deleted or private).")
    values = numeric_values(video, VIDEO_METRICS)
    missing = tuple(k for k in VIDEO_METRICS if k not in values)
    return MetricsSnapshot(values=values, fetched_at=answer.fetched_at, unavailable=missing)


async def account(platform: TikTokPlatform, ctx: AccountContext) -> MetricsSnapshot:
    """Followers, following, likes and video count from `user/info`."""
    data = await platform.call(
        "GET", "/v2/user/info/", ctx, bucket="user_info", params={"fields": ",".join(ACCOUNT_METRICS)}
    )
    user = data.get("user") or {}
    values = numeric_values(user, ACCOUNT_METRICS)
    missing = tuple(k for k in ACCOUNT_METRICS if k not in values)
    return MetricsSnapshot(values=values, fetched_at=datetime.now(UTC), unavailable=missing)


async def recent_videos(platform: TikTokPlatform, ctx: AccountContext) -> list[dict[str, Any]]:
    """The creator's newest videos (`video/list`, one page of 20)."""
    data = await platform.call(
        "POST",
        "/v2/video/list/",
        ctx,
        bucket="video_list",
        params={"fields": VIDEO_FIELDS},
        json={"max_count": 20},
    )
    return [v for v in data.get("videos") or [] if isinstance(v, dict)]


def verify_signature(
    secret: str | None, headers: Mapping[str, str], body: bytes, now: float | None = None
) -> bool:
    """True when `TikTok-Signature` is the app secret's HMAC of `t.body` and `t` is recent."""
    if not secret:
        return False
    header = next((v for k, v in headers.items() if k.lower() == "tiktok-signature"), "")
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    stamp, signature = parts.get("t", "").strip(), parts.get("s", "").strip().lower()
    if not re.fullmatch(r"[0-9]{1,12}", stamp) or not re.fullmatch(r"[0-9a-f]{64}", signature):
        return False  # malformed: refused before any arithmetic or comparison (no 500 on odd input)
    if abs((time.time() if now is None else now) - int(stamp)) > SIGNATURE_TOLERANCE_S:
        return False
    expected = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def parse_webhook(body: bytes) -> list[WebhookEvent]:
    """One event per delivery (TikTok's event name in `raw["event"]`): the `post.publish.*` events that end a
    publish become `publish.settled` with the publish id; others keep TikTok's name."""
    try:
        payload = json.loads(body)
    except ValueError:
        return []
    if not isinstance(payload, dict) or not payload.get("event"):
        return []
    content = payload.get("content")
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except ValueError:
            content = {}
    content = content if isinstance(content, dict) else {}
    post_id = content.get("publish_id") or content.get("post_id")
    event = str(payload["event"])
    kind = SETTLED if event in SETTLING_EVENTS else event
    raw = {**payload, "content": content}
    if event == "authorization.removed":
        kind, code = REVOKED, content.get("reason")
        raw["reason"] = REMOVED_REASONS.get(code, f"reason {code}") if isinstance(code, int) else code
    return [
        WebhookEvent(
            kind=kind,
            external_post_id=str(post_id) if post_id else None,
            external_account_id=str(payload.get("user_openid") or "") or None,
            raw=raw,
        )
    ]
