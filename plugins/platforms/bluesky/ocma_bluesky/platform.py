"""Bluesky over AT Protocol XRPC: app-password sessions, posts, threads, images, link cards, metrics."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from ocma_bluesky import history, posting, records
from ocma_bluesky.errors import raise_for_xrpc
from ocma_bluesky.linkcard import LinkCard, fetch_card, fetch_limited
from ocma_bluesky.media import image_size
from ocma_bluesky.posting import split_at_uri
from ocma_bluesky.richtext import count_graphemes, first_link
from ocma_bluesky.session import is_full_access, origin_of, token_set
from ocma_core import (
    AccountContext,
    AuthExpired,
    AuthKind,
    Capability,
    ConfigError,
    FoundPost,
    Limits,
    MediaItem,
    MediaRules,
    MetricsSnapshot,
    PastPage,
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
    Transient,
    WebhookEvent,
    numeric_values,
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

    def did_of(self, ctx: AccountContext) -> str:
        """The account's DID (from the session)."""
        did = ctx.settings.get("did") or ctx.tokens.extra.get("did") or ctx.external_id
        if not did:
            raise AuthExpired("The Bluesky session has no DID; reconnect the account.")
        return str(did)

    async def query(self, ctx: AccountContext, nsid: str, params: dict[str, Any]) -> dict[str, Any]:
        """GET an XRPC query on the account's PDS."""
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

    async def procedure(
        self, ctx: AccountContext, nsid: str, body: dict[str, Any], bucket: str = ""
    ) -> dict[str, Any]:
        """POST an XRPC procedure to the account's PDS."""
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
        """Who the session is, from the account's own PDS (no AppView needed: new and self-hosted accounts
        are not indexed there yet): com.atproto.server.getSession for the DID and handle, the display name
        from the app.bsky.actor.profile record (a new account has none)."""
        session = await self.query(ctx, "com.atproto.server.getSession", {})
        did, handle = str(session["did"]), str(session.get("handle") or "")
        display_name = await self._display_name(ctx, did)
        extra: dict[str, Any] = {
            key: ctx.tokens.extra[key] for key in ("did", "pds", "service") if key in ctx.tokens.extra
        }
        return Profile(
            external_id=did,
            handle=handle,
            display_name=display_name,
            url=f"https://bsky.app/profile/{handle or did}",
            extra=extra,
        )

    async def _display_name(self, ctx: AccountContext, did: str) -> str:
        """The profile record's displayName; the AppView's view if the record cannot be read; else ""."""
        try:
            record = await self.query(
                ctx,
                "com.atproto.repo.getRecord",
                {"repo": did, "collection": "app.bsky.actor.profile", "rkey": "self"},
            )
            return str((record.get("value") or {}).get("displayName") or "")
        except Rejected as exc:
            if exc.code == "RecordNotFound":
                return ""  # the account never set a profile: its handle stands in
        except Transient:
            pass
        try:  # cosmetic only: who the account is is already known from the session
            view = await self.query(ctx, "app.bsky.actor.getProfile", {"actor": did})
        except (Rejected, Transient):
            return ""
        return str(view.get("displayName") or "")

    # ----- content -------------------------------------------------------------------------------
    def validate(self, content: PostContent) -> list[Problem]:
        """Generic limits (300 graphemes, 4 images) plus 3,000 UTF-8 bytes and option checks."""
        return [*super().validate(content), *records.option_problems(content)]

    async def publish(self, ctx: AccountContext, content: PostContent) -> PublishResult:
        """createRecord for each part; later parts reply to the previous one with the first as root."""
        problems = self.validate(content)
        if problems:
            raise Rejected("; ".join(p.message for p in problems), code=problems[0].code)
        return await posting.post_thread(self, ctx, content, None)

    async def continue_thread(
        self, ctx: AccountContext, content: PostContent, found: FoundPost
    ) -> PublishResult:
        """The parts after those found, the first replying to the last found (root: the first part)."""
        return await posting.post_thread(self, ctx, content, found)

    async def resolve_handle(
        self, ctx: AccountContext, handle: str, cache: dict[str, str | None]
    ) -> str | None:
        """The DID of a mentioned handle (None when it is not a Bluesky handle)."""
        if handle not in cache:
            try:
                body = await self.query(ctx, "com.atproto.identity.resolveHandle", {"handle": handle})
                cache[handle] = str(body["did"])
            except Rejected:
                cache[handle] = None  # not a Bluesky handle: the mention stays plain text
        return cache[handle]

    async def embed(
        self, ctx: AccountContext, part: PostContent, options: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The images or link-card embed of one part (None when it has neither)."""
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
    ) -> FoundPost | None:
        """com.atproto.repo.listRecords (newest first) back to `since`: the root with this text and its replies."""
        return await posting.find_published(self, ctx, content, since)

    async def delete(self, ctx: AccountContext, external_id: str) -> None:
        """com.atproto.repo.deleteRecord with the rkey of the at:// URI."""
        repo, collection, rkey = split_at_uri(external_id)
        await self.procedure(
            ctx,
            "com.atproto.repo.deleteRecord",
            {"repo": repo, "collection": collection, "rkey": rkey},
            bucket="deleteRecord",
        )

    async def post_metrics(self, ctx: AccountContext, external_id: str) -> MetricsSnapshot:
        """app.bsky.feed.getPosts: like, repost, reply, quote (and bookmark) counts; no impressions exist."""
        body = await self.query(ctx, "app.bsky.feed.getPosts", {"uris": [external_id]})
        posts = body.get("posts") or []
        if not posts:
            raise Rejected(f"Bluesky has no post {external_id} (deleted or not yet indexed).")
        post = posts[0]
        keys = ("likeCount", "repostCount", "replyCount", "quoteCount", "bookmarkCount")
        values = numeric_values(post, keys)
        return MetricsSnapshot(
            values=values,
            fetched_at=datetime.now(UTC),
            unavailable=_NOT_PROVIDED,
            note="Bluesky does not report impressions or views.",
        )

    async def list_past_posts(
        self, ctx: AccountContext, since: datetime | None, cursor: str | None = None
    ) -> PastPage:
        """The account's own posts from its repo, newest first, 100 a page (ocma_bluesky.history)."""
        return await history.past_page(self, ctx, since, cursor)

    async def public_account_metrics(self, ctx: AccountContext, handle: str) -> MetricsSnapshot:
        """Another account's public counts: app.bsky.actor.getProfile(actor=handle)."""
        return await history.public_account(self, ctx, handle)

    async def account_metrics(self, ctx: AccountContext) -> MetricsSnapshot:
        """app.bsky.actor.getProfile: followers, follows and posts counts."""
        body = await self.query(ctx, "app.bsky.actor.getProfile", {"actor": self.did_of(ctx)})
        keys = ("followersCount", "followsCount", "postsCount")
        values = numeric_values(body, keys)
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
            repo, _, rkey = split_at_uri(external_id)
        except Rejected:
            return None
        return f"https://bsky.app/profile/{ctx.handle or repo}/post/{rkey}"


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None
