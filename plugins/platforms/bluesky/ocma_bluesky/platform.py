"""Bluesky over AT Protocol XRPC: app-password sessions, posts, threads, images, link cards, metrics."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from ocma_bluesky import records
from ocma_bluesky.errors import raise_for_xrpc
from ocma_bluesky.linkcard import LinkCard, fetch_card, fetch_limited
from ocma_bluesky.media import image_size
from ocma_bluesky.richtext import build_facets, count_graphemes, first_link
from ocma_bluesky.session import is_full_access, origin_of, token_set
from ocma_core import (
    AccountContext,
    AuthExpired,
    AuthKind,
    Capability,
    ConfigError,
    Limits,
    MediaItem,
    MediaRules,
    MetricsSnapshot,
    Platform,
    PostContent,
    Problem,
    Profile,
    PublishResult,
    RateBudget,
    RateLimitInfo,
    Rejected,
    TextLimit,
    TokenSet,
    WebhookEvent,
    parse_reset,
)

_NOT_PROVIDED = ("impressions", "views", "clicks")


class BlueskyPlatform(Platform):
    """Bluesky: handle + app password, 300-grapheme posts with facets, up to 4 images, threads."""

    name = "bluesky"
    display_name = "Bluesky"
    auth_kind = AuthKind.APP_PASSWORD
    capabilities = frozenset(
        {
            Capability.PUBLISH_TEXT,
            Capability.PUBLISH_IMAGES,
            Capability.THREADS,
            Capability.DELETE,
            Capability.FIND_PUBLISHED,
            Capability.POST_METRICS,
            Capability.ACCOUNT_METRICS,
        }
    )  # no WEBHOOKS: Bluesky has none (events come from the firehose / Jetstream)
    limits = Limits(
        text=TextLimit(max_length=300, unit="graphemes", counter=count_graphemes),
        media=MediaRules(
            max_images=4,
            image_types=("image/jpeg", "image/png", "image/gif", "image/webp"),
            max_image_bytes=2_000_000,  # app.bsky.embed.images#image.image maxSize
            max_alt_text=2000,  # the official app's MAX_ALT_TEXT (the lexicon sets none)
        ),
        # Bluesky documents no thread limit; OCMA caps one publish at 100 posts (300 write points).
        max_thread_length=100,
    )
    default_api_base = "https://bsky.social"
    rate_budgets = (
        # Write points per account: 5,000/hour and 35,000/day; a create costs 3 points.
        RateBudget(bucket="createRecord", scope="account", limit=1666, window_s=3600),
        RateBudget(bucket="createRecord/day", scope="account", limit=11666, window_s=86400),
        RateBudget(bucket="createSession", scope="account", limit=30, window_s=300),
        RateBudget(bucket="createSession/day", scope="account", limit=300, window_s=86400),
        RateBudget(bucket="xrpc", scope="app", limit=3000, window_s=300),  # per IP address
    )
    max_concurrency = 8
    credential_fields = {
        "handle": "Your Bluesky handle (e.g. alice.bsky.social) or the account's email or DID.",
        "app_password": "An app password (Settings -> Privacy and security -> App passwords).",
        "service": "Optional: your PDS or entryway URL if not on bsky.social (default https://bsky.social).",
    }
    optional_credential_fields = frozenset({"service"})

    # ----- sessions ------------------------------------------------------------------------------
    def _service(self, fields_or_settings: Mapping[str, Any]) -> str:
        service = str(fields_or_settings.get("service") or "").strip() or self.api_base
        if not service.startswith(("http://", "https://")):
            service = "https://" + service
        return origin_of(service, "service")

    async def connect_with_credentials(self, fields: Mapping[str, str]) -> TokenSet:
        """com.atproto.server.createSession with the handle and an app password."""
        handle = str(fields.get("handle", "")).strip().lstrip("@")
        password = str(fields.get("app_password", "")).strip()
        if not handle or not password:
            raise ConfigError("Bluesky needs your handle and an app password.")
        service = self._service(fields)
        response = await self.send(
            "POST",
            f"{service}/xrpc/com.atproto.server.createSession",
            bucket="createSession",
            expect_effect=False,
            json={"identifier": handle, "password": password},
        )
        raise_for_xrpc(response, effect=False)
        tokens = token_set(response.json(), service)
        if is_full_access(tokens):
            raise Rejected(
                "That is the account password. Create an app password in Bluesky (Settings -> Privacy and "
                "security -> App passwords) and connect with it instead."
            )
        return tokens

    async def refresh(self, ctx: AccountContext) -> TokenSet:
        """com.atproto.server.refreshSession with the refresh JWT; the refresh JWT rotates."""
        if not ctx.tokens.refresh_token:
            raise AuthExpired(
                "No Bluesky refresh token is stored; reconnect the account with an app password."
            )
        service = self._service({**ctx.tokens.extra, **ctx.settings})
        response = await self.send(
            "POST",
            f"{service}/xrpc/com.atproto.server.refreshSession",
            ctx=ctx,
            bucket="refreshSession",
            expect_effect=False,
            headers={"Authorization": f"Bearer {ctx.tokens.refresh_token}"},
        )
        raise_for_xrpc(response, effect=False)
        return token_set(response.json(), service)

    # ----- XRPC helpers --------------------------------------------------------------------------
    def host_of(self, settings: Mapping[str, Any]) -> str:
        """The account's PDS: the engine caps calls per PDS, so one slow server never stalls the others."""
        pds = settings.get("pds")
        return str(pds).rstrip("/") if pds else self._service(settings)

    def _pds(self, ctx: AccountContext) -> str:
        pds = ctx.settings.get("pds") or ctx.tokens.extra.get("pds")
        return origin_of(str(pds), "PDS") if pds else self._service({**ctx.tokens.extra, **ctx.settings})

    def _did(self, ctx: AccountContext) -> str:
        did = ctx.settings.get("did") or ctx.tokens.extra.get("did") or ctx.external_id
        if not did:
            raise AuthExpired("The Bluesky session has no DID; reconnect the account.")
        return str(did)

    async def _query(self, ctx: AccountContext, nsid: str, params: dict[str, Any]) -> dict[str, Any]:
        response = await self.send(
            "GET",
            f"{self._pds(ctx)}/xrpc/{nsid}",
            ctx=ctx,
            bucket=nsid,
            params=params,
            headers=self._auth(ctx),
        )
        raise_for_xrpc(response, effect=False)
        return dict(response.json())

    async def _procedure(
        self, ctx: AccountContext, nsid: str, body: dict[str, Any], bucket: str = ""
    ) -> dict[str, Any]:
        response = await self.send(
            "POST",
            f"{self._pds(ctx)}/xrpc/{nsid}",
            ctx=ctx,
            bucket=bucket or nsid,
            json=body,
            headers=self._auth(ctx),
        )
        raise_for_xrpc(response, effect=True)
        return dict(response.json()) if response.content else {}

    def _auth(self, ctx: AccountContext) -> dict[str, str]:
        return {"Authorization": f"Bearer {ctx.tokens.access_token}"}

    def read_rate_limit(self, response: httpx.Response, bucket: str) -> RateLimitInfo | None:
        """ratelimit-limit/remaining/reset (unix seconds) and ratelimit-policy ("5000;w=3600")."""
        h = response.headers
        if "ratelimit-remaining" not in h:
            return None
        policy = h.get("ratelimit-policy")
        return RateLimitInfo(
            scope="account",
            bucket=f"{bucket} [{policy}]" if policy else bucket,
            limit=_int(h.get("ratelimit-limit")),
            remaining=_int(h.get("ratelimit-remaining")),
            reset_at=parse_reset(h.get("ratelimit-reset")),
        )

    # ----- profile -------------------------------------------------------------------------------
    async def get_profile(self, ctx: AccountContext) -> Profile:
        """app.bsky.actor.getProfile for the session's DID (on the account's PDS)."""
        body = await self._query(ctx, "app.bsky.actor.getProfile", {"actor": self._did(ctx)})
        handle = str(body.get("handle", ""))
        extra: dict[str, Any] = {
            key: ctx.tokens.extra[key] for key in ("did", "pds", "service") if key in ctx.tokens.extra
        }
        return Profile(
            external_id=str(body["did"]),
            handle=handle,
            display_name=str(body.get("displayName") or ""),
            url=f"https://bsky.app/profile/{handle or body['did']}",
            extra=extra,
        )

    # ----- content -------------------------------------------------------------------------------
    def validate(self, content: PostContent) -> list[Problem]:
        """Generic limits (300 graphemes, 4 images) plus 3,000 UTF-8 bytes and option checks."""
        return [*super().validate(content), *records.option_problems(content)]

    async def publish(self, ctx: AccountContext, content: PostContent) -> PublishResult:
        """createRecord for each part; later parts reply to the previous one with the first as root."""
        problems = self.validate(content)
        if problems:
            raise Rejected("; ".join(p.message for p in problems), code=problems[0].code)
        did = self._did(ctx)
        dids: dict[str, str | None] = {}
        refs: list[dict[str, str]] = []
        for index, part in enumerate(content.all_parts()):
            facets = await build_facets(part.text, lambda handle: self._resolve(ctx, handle, dids))
            embed = await self._embed(ctx, part, content.options if index == 0 else {})
            reply = {"root": refs[0], "parent": refs[-1]} if refs else None
            record = records.post_record(
                part.text, options=content.options, facets=facets, reply=reply, embed=embed
            )
            answer = await self._procedure(
                ctx,
                "com.atproto.repo.createRecord",
                {"repo": did, "collection": records.POST, "record": record},
                bucket="createRecord",
            )
            refs.append(records.strong_ref(str(answer["uri"]), str(answer["cid"])))
        root = refs[0]
        return PublishResult(
            external_id=root["uri"],
            url=self.public_url(ctx, root["uri"]),
            part_ids=[ref["uri"] for ref in refs],
            raw={"cid": root["cid"], "cids": [ref["cid"] for ref in refs]},
        )

    async def _resolve(self, ctx: AccountContext, handle: str, cache: dict[str, str | None]) -> str | None:
        if handle not in cache:
            try:
                body = await self._query(ctx, "com.atproto.identity.resolveHandle", {"handle": handle})
                cache[handle] = str(body["did"])
            except Rejected:
                cache[handle] = None  # not a Bluesky handle: the mention stays plain text
        return cache[handle]

    async def _embed(
        self, ctx: AccountContext, part: PostContent, options: dict[str, Any]
    ) -> dict[str, Any] | None:
        if part.media:
            return records.images_embed([await self._image(ctx, item) for item in part.media])
        fetch_default = (self.setting("LINK_CARDS") or "on").lower() not in ("0", "off", "false", "no")
        card_option = options.get("link_card", fetch_default)
        if card_option is False:
            return None
        if isinstance(card_option, dict):
            card: LinkCard | None = LinkCard(
                uri=str(card_option["uri"]),
                title=str(card_option["title"]),
                description=str(card_option["description"]),
                image_url=card_option.get("thumb_url"),
            )
        else:
            link = first_link(part.text)
            card = await fetch_card(link, allow_private=self._allow_private()) if link else None
        if card is None:
            return None
        thumb = await self._thumb(ctx, card.image_url) if card.image_url else None
        return records.external_embed(card.uri, card.title, card.description, thumb)

    def _allow_private(self) -> bool:
        return (self.setting("LINK_CARD_ALLOW_PRIVATE") or "").lower() in ("1", "true", "yes")

    async def _image(self, ctx: AccountContext, item: MediaItem) -> dict[str, Any]:
        data = item.read_bytes()
        blob = await self._upload_blob(ctx, data, item.mime_type)
        size = (item.width, item.height) if item.width and item.height else image_size(data)
        return records.image_entry(blob, item.alt_text, size)

    async def _thumb(self, ctx: AccountContext, url: str) -> dict[str, Any] | None:
        fetched = await fetch_limited(
            url,
            allow_private=self._allow_private(),
            timeout_s=5.0,
            max_bytes=records.MAX_THUMB_BYTES,
            expect="image",
        )
        if fetched is None:
            return None  # a card without a thumbnail is still a card
        return await self._upload_blob(ctx, fetched.body, fetched.content_type)

    async def _upload_blob(self, ctx: AccountContext, data: bytes, mime: str) -> dict[str, Any]:
        response = await self.send(
            "POST",
            f"{self._pds(ctx)}/xrpc/com.atproto.repo.uploadBlob",
            ctx=ctx,
            bucket="uploadBlob",
            content=data,
            headers={**self._auth(ctx), "Content-Type": mime},
        )
        raise_for_xrpc(response, effect=True)
        return dict(response.json()["blob"])

    # ----- after publishing ----------------------------------------------------------------------
    async def find_published(
        self, ctx: AccountContext, content: PostContent, since: datetime
    ) -> PublishResult | None:
        """com.atproto.repo.listRecords (newest first) back to `since`: the root post with this text."""
        posts = await self._records_since(ctx, since)
        for uri, cid, value in posts:
            if value.get("text") == content.text and "reply" not in value:
                part_ids = self._thread_ids(uri, content, posts)
                return PublishResult(
                    external_id=uri,
                    url=self.public_url(ctx, uri),
                    part_ids=part_ids,
                    raw={"cid": cid, "found_parts": len(part_ids), "parts": len(content.all_parts())},
                )
        return None

    def _thread_ids(
        self, root: str, content: PostContent, posts: list[tuple[str, str, dict[str, Any]]]
    ) -> list[str]:
        ids = [root]
        for part in content.thread:
            follow = next(
                (
                    uri
                    for uri, _, v in posts
                    if v.get("text") == part.text
                    and (v.get("reply") or {}).get("parent", {}).get("uri") == ids[-1]
                ),
                None,
            )
            if follow is None:
                break
            ids.append(follow)
        return ids

    async def _records_since(
        self, ctx: AccountContext, since: datetime
    ) -> list[tuple[str, str, dict[str, Any]]]:
        found: list[tuple[str, str, dict[str, Any]]] = []
        cursor: str | None = None
        for _ in range(20):  # at most 2,000 records back
            params: dict[str, Any] = {"repo": self._did(ctx), "collection": records.POST, "limit": 100}
            if cursor:
                params["cursor"] = cursor
            body = await self._query(ctx, "com.atproto.repo.listRecords", params)
            batch = body.get("records") or []
            for item in batch:
                value = item.get("value") or {}
                created = _parse_time(value.get("createdAt"))
                if created is not None and created < since:
                    return found
                found.append((str(item["uri"]), str(item["cid"]), value))
            cursor = body.get("cursor")
            if not cursor or not batch:
                break
        return found

    async def delete(self, ctx: AccountContext, external_id: str) -> None:
        """com.atproto.repo.deleteRecord with the rkey of the at:// URI."""
        repo, collection, rkey = _split_at_uri(external_id)
        await self._procedure(
            ctx,
            "com.atproto.repo.deleteRecord",
            {"repo": repo, "collection": collection, "rkey": rkey},
            bucket="deleteRecord",
        )

    async def post_metrics(self, ctx: AccountContext, external_id: str) -> MetricsSnapshot:
        """app.bsky.feed.getPosts: like, repost, reply, quote (and bookmark) counts; no impressions exist."""
        body = await self._query(ctx, "app.bsky.feed.getPosts", {"uris": [external_id]})
        posts = body.get("posts") or []
        if not posts:
            raise Rejected(f"Bluesky has no post {external_id} (deleted or not yet indexed).")
        post = posts[0]
        keys = ("likeCount", "repostCount", "replyCount", "quoteCount", "bookmarkCount")
        values = {key: float(post[key]) for key in keys if isinstance(post.get(key), int | float)}
        return MetricsSnapshot(
            values=values,
            fetched_at=datetime.now(UTC),
            unavailable=_NOT_PROVIDED,
            note="Bluesky does not report impressions or views.",
        )

    async def account_metrics(self, ctx: AccountContext) -> MetricsSnapshot:
        """app.bsky.actor.getProfile: followers, follows and posts counts."""
        body = await self._query(ctx, "app.bsky.actor.getProfile", {"actor": self._did(ctx)})
        keys = ("followersCount", "followsCount", "postsCount")
        values = {key: float(body[key]) for key in keys if isinstance(body.get(key), int | float)}
        return MetricsSnapshot(
            values=values, fetched_at=datetime.now(UTC), unavailable=("impressions", "profile_views")
        )

    # ----- webhooks: none ------------------------------------------------------------------------
    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Bluesky has no webhooks (use the firehose or Jetstream), so no delivery is ever genuine."""
        return False

    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        """Bluesky has no webhooks."""
        return []

    def public_url(self, ctx: AccountContext, external_id: str) -> str | None:
        """https://bsky.app/profile/<handle>/post/<rkey>."""
        try:
            repo, _, rkey = _split_at_uri(external_id)
        except Rejected:
            return None
        return f"https://bsky.app/profile/{ctx.handle or repo}/post/{rkey}"


def _split_at_uri(uri: str) -> tuple[str, str, str]:
    """(repo, collection, rkey) of at://<repo>/<collection>/<rkey>."""
    parts = uri.removeprefix("at://").split("/") if uri.startswith("at://") else []
    if len(parts) != 3 or not all(parts):
        raise Rejected(f"{uri!r} is not an at:// record URI.")
    return parts[0], parts[1], parts[2]


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None
