"""Posting to a Page's feed: text and link posts, one photo, or several photos through `attached_media`.

Meta's Pages API ("Posts", "Photos"): `POST /{page}/feed` with `message` and `link` answers
`{"id": "{page}_{post}"}`; `POST /{page}/photos` with a multipart `source` (or a public `url`) and `caption`
answers `{"id": photo, "post_id": "{page}_{post}"}`; several photos are uploaded with `published=false`,
then attached to one feed post as `attached_media[i]={"media_fbid": id}`.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ocma_core import AccountContext, MediaItem, PostContent, Rejected, Unconfirmed
from ocma_core.platforms import graph

if TYPE_CHECKING:
    from ocma_facebook.platform import FacebookPlatform

#: How far before `since` find_published looks (clocks differ; Meta rounds created_time to the second).
LOOKBACK = timedelta(minutes=2)
GONE_SUBCODE = 33  # "Object ... does not exist, cannot be loaded due to missing permissions, ..."


def _photo_form(item: MediaItem, caption: str, published: bool) -> dict[str, str]:
    form = {"published": "true" if published else "false"}
    if caption:
        form["caption"] = caption
    if item.alt_text:
        form["alt_text_custom"] = item.alt_text
    return form


async def upload_photo(
    platform: FacebookPlatform, ctx: AccountContext, page: str, item: MediaItem, caption: str, published: bool
) -> dict[str, Any]:
    """`POST /{page}/photos` with the file's bytes as `source` (multipart)."""
    name = item.path.name or "photo"
    answer: dict[str, Any] = await platform.call(
        "POST",
        f"{page}/photos",
        ctx,
        bucket="publish",
        creates=published,  # an unpublished upload is invisible: sending it again does no harm
        data=_photo_form(item, caption, published),
        files={"source": (name, item.read_bytes(), item.mime_type)},
    )
    return answer


async def publish(platform: FacebookPlatform, ctx: AccountContext, page: str, content: PostContent) -> str:
    """Publish `content` on `page`; the new post's id (`{page}_{post}`)."""
    photos = [m for m in content.media if not m.is_video]
    link = str(content.options.get("link") or "")
    if len(photos) == 1 and not link:
        answer = await upload_photo(platform, ctx, page, photos[0], content.text, published=True)
        post_id = answer.get("post_id")
        if not post_id:
            raise Unconfirmed(f"Facebook stored photo {answer.get('id')} but named no post for it.")
        return str(post_id)
    form: dict[str, str] = {}
    if content.text:
        form["message"] = content.text
    if link:
        form["link"] = link
    for index, item in enumerate(photos):
        uploaded = await upload_photo(platform, ctx, page, item, "", published=False)
        form[f"attached_media[{index}]"] = json.dumps({"media_fbid": str(uploaded["id"])})
    answer = await platform.call("POST", f"{page}/feed", ctx, bucket="publish", creates=True, data=form)
    if not answer.get("id"):
        raise Unconfirmed("Facebook answered the post without an id.")
    return str(answer["id"])


async def find(
    platform: FacebookPlatform, ctx: AccountContext, page: str, content: PostContent, since: datetime
) -> str | None:
    """The id of the Page's post with this message, created since `since` (a read: it posts nothing)."""
    query = {
        "fields": "id,message,created_time",
        "since": str(int((since - LOOKBACK).timestamp())),
        "limit": "100",
    }
    body = await platform.call("GET", f"{page}/posts", ctx, bucket="posts", params=query)
    for post in body.get("data") or []:
        if isinstance(post, dict) and str(post.get("message") or "") == content.text and post.get("id"):
            return str(post["id"])
    return None


async def delete(platform: FacebookPlatform, ctx: AccountContext, post_id: str) -> None:
    """`DELETE /{post-id}`; a post Meta says does not exist (and cannot be read either) is already gone."""
    response = await platform.send(
        "DELETE",
        platform.graph_url(post_id),
        ctx=ctx,
        bucket="delete",
        params=platform.auth_params(ctx.tokens.access_token),
    )
    if response.status_code < 400:
        return
    error = graph.graph_error(response)
    if error.code == 100 and error.subcode == GONE_SUBCODE:
        probe = await platform.send(
            "GET",
            platform.graph_url(post_id),
            ctx=ctx,
            bucket="delete",
            params=platform.auth_params(ctx.tokens.access_token, {"fields": "id"}),
        )
        probe_error = graph.graph_error(probe) if probe.status_code >= 400 else None
        if probe_error is not None and probe_error.subcode == GONE_SUBCODE:
            return
        raise Rejected(f"Facebook refused to delete {post_id}: {error.text}", status=error.status, code="100")
    platform.raise_for_status(response, effect=True)


async def comment(platform: FacebookPlatform, ctx: AccountContext, post_id: str, part: PostContent) -> str:
    """`POST /{post-id}/comments` as the Page: a follow-up under the post; the comment's id."""
    answer = await platform.call(
        "POST", f"{post_id}/comments", ctx, bucket="publish", creates=True, data={"message": part.text}
    )
    if not answer.get("id"):
        raise Unconfirmed("Facebook answered the comment without an id.")
    return str(answer["id"])


async def find_comment(
    platform: FacebookPlatform, ctx: AccountContext, page: str, post_id: str, part: PostContent
) -> str | None:
    """The Page's own top-level comment with this text under `post_id` (a read)."""
    body = await platform.call(
        "GET",
        f"{post_id}/comments",
        ctx,
        bucket="posts",
        params={
            "fields": "id,message,from",
            "filter": "toplevel",
            "order": "reverse_chronological",
            "limit": "100",
        },
    )
    for item in body.get("data") or []:
        author = (item.get("from") or {}).get("id") if isinstance(item, dict) else None
        if (
            isinstance(item, dict)
            and item.get("message") == part.text
            and str(author) == page
            and item.get("id")
        ):
            return str(item["id"])
    return None
