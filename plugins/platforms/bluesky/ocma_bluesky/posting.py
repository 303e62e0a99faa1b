"""Posts and threads on Bluesky: createRecord per part (replies carry root and parent strong refs), lookup
of what exists (listRecords on the account's PDS) and continuing a thread after the parts that exist."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ocma_bluesky import records
from ocma_bluesky.richtext import build_facets
from ocma_core import AccountContext, FoundPost, PostContent, PublishResult, Rejected

if TYPE_CHECKING:
    from ocma_bluesky.platform import BlueskyPlatform

LOOKUP_PAGES = 20  # at most 2,000 records back


async def post_thread(
    platform: BlueskyPlatform, ctx: AccountContext, content: PostContent, found: FoundPost | None
) -> PublishResult:
    """Every part of `content` not in `found`; later parts reply to the previous one with the first as root."""
    did = platform.did_of(ctx)
    dids: dict[str, str | None] = {}
    parts = content.all_parts()
    cids: dict[str, str] = {}
    if found is not None:
        cids.update(await _known_cids(platform, ctx, found))

    async def post_part(index: int, before: list[str]) -> str:
        part = parts[index]
        facets = await build_facets(part.text, lambda handle: platform.resolve_handle(ctx, handle, dids))
        embed = await platform.embed(ctx, part, content.options if index == 0 else {})
        reply = None
        if before:
            root, parent = before[0], before[-1]
            reply = {
                "root": records.strong_ref(root, cids[root]),
                "parent": records.strong_ref(parent, cids[parent]),
            }
        record = records.post_record(
            part.text, options=content.options, facets=facets, reply=reply, embed=embed
        )
        answer = await platform.procedure(
            ctx,
            "com.atproto.repo.createRecord",
            {"repo": did, "collection": records.POST, "record": record},
            bucket="createRecord",
        )
        uri = str(answer["uri"])
        cids[uri] = str(answer["cid"])
        return uri

    uris = await platform.post_thread(ctx, content, post_part, found)
    return PublishResult(
        external_id=uris[0],
        url=platform.public_url(ctx, uris[0]),
        part_ids=uris,
        raw={"cid": cids[uris[0]], "cids": [cids[uri] for uri in uris]},
    )


async def _known_cids(platform: BlueskyPlatform, ctx: AccountContext, found: FoundPost) -> dict[str, str]:
    """The CIDs of the root and the last part found (a reply's strong refs need them)."""
    given = found.raw.get("cids")
    if isinstance(given, list) and len(given) == len(found.part_ids):
        return dict(zip(found.part_ids, (str(cid) for cid in given), strict=True))
    cids = {}
    for uri in {found.part_ids[0], found.part_ids[-1]}:
        repo, collection, rkey = split_at_uri(uri)
        body = await platform.query(
            ctx, "com.atproto.repo.getRecord", {"repo": repo, "collection": collection, "rkey": rkey}
        )
        cids[uri] = str(body["cid"])
    return cids


async def find_published(
    platform: BlueskyPlatform, ctx: AccountContext, content: PostContent, since: datetime
) -> FoundPost | None:
    """The root post with this text since `since`, and each later part found replying to the one before."""
    posts = await _records_since(platform, ctx, since)
    for uri, cid, value in posts:
        if value.get("text") == content.text and "reply" not in value:
            ids, cids = [uri], [cid]
            for part in content.thread:
                follow = next(
                    (
                        (u, c)
                        for u, c, v in posts
                        if v.get("text") == part.text
                        and (v.get("reply") or {}).get("parent", {}).get("uri") == ids[-1]
                    ),
                    None,
                )
                if follow is None:
                    break
                ids.append(follow[0])
                cids.append(follow[1])
            return FoundPost(
                part_ids=ids,
                url=platform.public_url(ctx, uri),
                raw={"cid": cid, "cids": cids, "parts": len(content.all_parts())},
            )
    return None


async def _records_since(
    platform: BlueskyPlatform, ctx: AccountContext, since: datetime
) -> list[tuple[str, str, dict[str, Any]]]:
    found: list[tuple[str, str, dict[str, Any]]] = []
    cursor: str | None = None
    for _ in range(LOOKUP_PAGES):
        params: dict[str, Any] = {"repo": platform.did_of(ctx), "collection": records.POST, "limit": 100}
        if cursor:
            params["cursor"] = cursor
        body = await platform.query(ctx, "com.atproto.repo.listRecords", params)
        batch = body.get("records") or []
        for item in batch:
            value = item.get("value") or {}
            created = parse_time(value.get("createdAt"))
            if created is not None and created < since:
                return found
            found.append((str(item["uri"]), str(item["cid"]), value))
        cursor = body.get("cursor")
        if not cursor or not batch:
            break
    return found


def split_at_uri(uri: str) -> tuple[str, str, str]:
    """(repo, collection, rkey) of at://<repo>/<collection>/<rkey>."""
    parts = uri.removeprefix("at://").split("/") if uri.startswith("at://") else []
    if len(parts) != 3 or not all(parts):
        raise Rejected(f"{uri!r} is not an at:// record URI.")
    return parts[0], parts[1], parts[2]


def parse_time(value: Any) -> datetime | None:
    """An atproto datetime as an aware UTC datetime (None when it is not one)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
