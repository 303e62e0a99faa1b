"""Publishing on X: POST /2/tweets per part, threads as reply chains, lookup of unconfirmed posts, delete.

Threads go through `Platform.post_thread`: a failure after a part is out carries the ids of the parts out,
so the engine looks them up (`find_published`, a read) and posts the rest (`continue_thread`) instead of
posting the thread again; a part X refuses for good (e.g. duplicate content) deletes the parts out again.
"""

from __future__ import annotations

import html
import unicodedata
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ocma_core import (
    AccountContext,
    FoundPost,
    PostContent,
    PublishResult,
    Rejected,
    Unconfirmed,
)
from ocma_x.errors import failure_for
from ocma_x.media import upload
from ocma_x.urls import extract_urls

if TYPE_CHECKING:
    from ocma_x.platform import XPlatform

TIMELINE_PAGES = 5  # up to 500 recent posts are searched when resolving an unconfirmed publish


def post_body(
    platform: XPlatform,
    part: PostContent,
    options: dict[str, Any],
    reply_to: str | None,
    media_ids: list[str],
    first: bool,
) -> dict[str, Any]:
    """The createPosts JSON body for one part."""
    body: dict[str, Any] = {"text": part.text}
    if media_ids:
        body["media"] = {"media_ids": media_ids}
    if reply_to:
        body["reply"] = {"in_reply_to_tweet_id": reply_to}
    if first and isinstance(options.get("poll"), dict):
        poll = options["poll"]
        body["poll"] = {"options": list(poll["options"]), "duration_minutes": int(poll["duration_minutes"])}
    if first and options.get("quote_tweet_id"):
        body["quote_tweet_id"] = str(options["quote_tweet_id"])
    if options.get("reply_settings"):
        body["reply_settings"] = str(options["reply_settings"])
    return body


async def create_post(platform: XPlatform, ctx: AccountContext, body: dict[str, Any]) -> str:
    """POST /2/tweets; the new post's id (201 `{data: {id, text}}`)."""
    response = await platform.send(
        "POST",
        f"{platform.api_base}/2/tweets",
        ctx=ctx,
        bucket="POST /2/tweets",
        json=body,
        headers=platform.auth_header(ctx),
    )
    if response.status_code >= 400:
        raise failure_for(response, creates=True)
    data = response.json().get("data") if isinstance(response.json(), dict) else None
    if not isinstance(data, dict) or not data.get("id"):
        raise Unconfirmed(f"X answered POST /2/tweets with {response.status_code} but no post id.")
    return str(data["id"])


async def publish(
    platform: XPlatform, ctx: AccountContext, content: PostContent, found: FoundPost | None = None
) -> PublishResult:
    """Publish the post and its thread parts (those after `found`, when continuing a thread)."""
    if found is None:
        problems = platform.validate(content)
        if problems:
            raise Rejected("; ".join(p.message for p in problems), code=problems[0].code)
    parts = content.all_parts()

    async def post_part(index: int, before: list[str]) -> str:
        part = parts[index]
        media_ids = [await upload(platform, ctx, item) for item in part.media]
        reply_to = before[-1] if before else None
        return await create_post(
            platform, ctx, post_body(platform, part, content.options, reply_to, media_ids, index == 0)
        )

    ids = await platform.post_thread(ctx, content, post_part, found)
    return PublishResult(external_id=ids[0], url=platform.public_url(ctx, ids[0]), part_ids=ids)


async def delete_post(platform: XPlatform, ctx: AccountContext, post_id: str) -> None:
    """DELETE /2/tweets/:id; 200 `{data: {deleted: true}}`; a 404 means it is already gone."""
    response = await platform.send(
        "DELETE",
        f"{platform.api_base}/2/tweets/{post_id}",
        ctx=ctx,
        bucket="DELETE /2/tweets/:id",
        headers=platform.auth_header(ctx),
    )
    if response.status_code == 404:
        return
    if response.status_code >= 400:
        raise failure_for(response)
    data = response.json().get("data", {})
    if not data.get("deleted", False):
        raise Rejected(f"X did not delete post {post_id}: {response.text[:200]}")


def comparable(text: str) -> str:
    """Text as X gives it back, made comparable: HTML entities undone, NFC, URLs (t.co-wrapped) masked."""
    text = unicodedata.normalize("NFC", html.unescape(text)).strip()
    pieces: list[str] = []
    last = 0
    for url in extract_urls(text):
        pieces.extend((text[last : url.start], "\x00url\x00"))
        last = url.end
    pieces.append(text[last:])
    return "".join(pieces)


async def recent_posts(platform: XPlatform, ctx: AccountContext, since: datetime) -> list[dict[str, Any]]:
    """The account's posts since `since`, oldest first (GET /2/users/:id/tweets, paginated)."""
    params = {
        "start_time": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "max_results": "100",
        "tweet.fields": "created_at,conversation_id",
    }
    posts: list[dict[str, Any]] = []
    for _ in range(TIMELINE_PAGES):
        body = await platform.get(
            ctx, f"/2/users/{ctx.external_id}/tweets", "GET /2/users/:id/tweets", params
        )
        posts.extend(p for p in body.get("data") or [] if isinstance(p, dict))
        token = (body.get("meta") or {}).get("next_token")
        if not token:
            break
        params["pagination_token"] = str(token)
    return sorted(posts, key=lambda p: int(p.get("id", 0)))


async def find_published(
    platform: XPlatform, ctx: AccountContext, content: PostContent, since: datetime
) -> FoundPost | None:
    """The first part by text since `since`; for a thread, each later part found replying in its conversation."""
    posts = await recent_posts(platform, ctx, since)
    wanted = comparable(content.text)
    first = next((p for p in posts if comparable(str(p.get("text", ""))) == wanted), None)
    if first is None:
        return None
    ids = [str(first["id"])]
    for part in content.thread:
        text = comparable(part.text)
        match = next(
            (
                p
                for p in posts
                if p.get("conversation_id") == ids[0]
                and str(p["id"]) not in ids
                and int(p["id"]) > int(ids[-1])
                and comparable(str(p.get("text", ""))) == text
            ),
            None,
        )
        if match is None:
            break
        ids.append(str(match["id"]))
    return FoundPost(part_ids=ids, url=platform.public_url(ctx, ids[0]))
