"""The sandbox Platform: connects without credentials and publishes to the local feed (no network at all)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

from ocma_core import (
    AccountContext,
    AuthExpired,
    AuthKind,
    Capability,
    FoundPost,
    Limits,
    MediaItem,
    MediaRules,
    MetricsSnapshot,
    Platform,
    PostContent,
    Profile,
    PublishResult,
    RateLimited,
    Rejected,
    TextLimit,
    TokenSet,
    Transient,
    Unconfirmed,
)
from ocma_core.errors import ValidationFailed
from ocma_sandbox.feed import NAME_RULE, Fault, FeedPost, NotYours, SandboxFeed, UnknownToken

DEFAULT_NAME = "demo"
NO_METRICS = (
    "sandbox produces no metrics: it is a local practice feed that nobody else reads, so there is nothing "
    "to count (connect a real platform for metrics)"
)


class SandboxPlatform(Platform):
    """A practice platform on this machine: its feed is a page OCMA serves at /sandbox/{name}."""

    name = "sandbox"
    display_name = "Sandbox"
    auth_kind = AuthKind.NONE
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.PUBLISH_TEXT,
            Capability.PUBLISH_IMAGES,
            Capability.PUBLISH_VIDEO,
            Capability.THREADS,
            Capability.DELETE,
            Capability.FIND_PUBLISHED,
            Capability.IDEMPOTENT_PUBLISH,
        }
    )
    limits = Limits(
        text=TextLimit(max_length=500),
        media=MediaRules(max_images=4, max_videos=1, max_image_bytes=10 * 1024 * 1024),
        max_thread_length=25,
    )
    max_concurrency = 4  # one SQLite file: a few writers at a time is plenty
    credential_fields: ClassVar[Mapping[str, str]] = {
        "name": f"sandbox account name: lower-case letters, digits, - or _ (default {DEFAULT_NAME})"
    }
    optional_credential_fields = frozenset({"name"})

    # ----- where things are ---------------------------------------------------------------------
    def _settings(self) -> Any:
        from ocma_core.app.plugins import load_settings

        return load_settings()

    @cached_property
    def feed(self) -> SandboxFeed:
        """The feed file: OCMA_SANDBOX_DIR, else `sandbox/` in OCMA's data directory."""
        explicit = self.setting("DIR")
        if explicit:
            folder = Path(explicit)
        elif self._env.get("OCMA_DATA_DIR"):
            folder = Path(self._env["OCMA_DATA_DIR"]) / "sandbox"
        else:
            folder = Path(self._settings().data_dir) / "sandbox"
        return SandboxFeed(folder / "feed.db")

    @cached_property
    def page_base(self) -> str:
        """Where OCMA serves the feed pages: <OCMA_PUBLIC_URL>/sandbox."""
        public = self._env.get("OCMA_PUBLIC_URL") or self._settings().public_url
        return f"{public.rstrip('/')}/sandbox"

    def page_url(self, name: str, post_id: str = "") -> str:
        """The feed page of an account, or one post on it."""
        return f"{self.page_base}/{quote(name)}" + (f"#post-{post_id}" if post_id else "")

    # ----- authorisation -------------------------------------------------------------------------
    async def connect_with_credentials(self, fields: Mapping[str, str]) -> TokenSet:
        """Open (or create) the sandbox account `name`; nothing secret is asked for."""
        name = str(fields.get("name") or DEFAULT_NAME).strip().lower()
        if not NAME_RULE.match(name):
            raise ValidationFailed(
                f"{name!r} is not a sandbox account name: use 1 to 30 lower-case letters, digits, - or _, "
                "starting with a letter or digit.",
                fix="Pick another, e.g. `ocma accounts connect sandbox -f name=launch-test`.",
                problems=[{"field": "name", "message": "1-30 of a-z, 0-9, - and _"}],
            )
        unknown = set(fields) - set(self.credential_fields)
        if unknown:
            raise ValidationFailed(
                f"The sandbox takes only a name; unknown field(s): {', '.join(sorted(unknown))}.",
                fix="Leave them out (the sandbox needs no credentials).",
            )
        _account, tokens = await asyncio.to_thread(self.feed.connect, name)
        return TokenSet(access_token=tokens.access, refresh_token=tokens.refresh)

    async def refresh(self, ctx: AccountContext) -> TokenSet:
        """Swap the refresh token for new tokens (it rotates, like X's and Bluesky's)."""
        if not ctx.tokens.refresh_token:
            raise AuthExpired("The sandbox account has no refresh token.", status=401)
        try:
            _account, tokens = await asyncio.to_thread(self.feed.refresh, ctx.tokens.refresh_token)
        except UnknownToken as exc:
            raise AuthExpired(f"Sandbox: {exc}; connect the account again.", status=401) from None
        return TokenSet(access_token=tokens.access, refresh_token=tokens.refresh)

    async def _holder(self, ctx: AccountContext) -> Any:
        try:
            return await asyncio.to_thread(self.feed.account_for, ctx.tokens.access_token)
        except UnknownToken as exc:
            raise AuthExpired(f"Sandbox: {exc}.", status=401) from None

    async def get_profile(self, ctx: AccountContext) -> Profile:
        """The sandbox account the token belongs to."""
        account = await self._holder(ctx)
        return Profile(
            external_id=account.id,
            handle=account.name,
            display_name=f"{account.name} (sandbox)",
            url=self.page_url(account.name),
        )

    # ----- publishing ----------------------------------------------------------------------------
    async def publish(self, ctx: AccountContext, content: PostContent) -> PublishResult:
        """Store the post and its thread in the feed, whole, in one transaction."""
        account = await self._holder(ctx)
        parts = [(part.text, [_media(item) for item in part.media]) for part in content.all_parts()]
        posts, fault = await asyncio.to_thread(self.feed.publish, account.id, parts, content.idempotency_key)
        if fault is not None:
            _raise(fault)
        return self._result(account.name, posts)

    def _result(self, name: str, posts: list[FeedPost]) -> PublishResult:
        first = posts[0]
        return PublishResult(
            external_id=first.id,
            url=self.page_url(name, first.id),
            part_ids=[p.id for p in posts],
            raw={"sandbox": True, "root_id": first.root_id},
        )

    async def find_published(
        self, ctx: AccountContext, content: PostContent, since: datetime
    ) -> FoundPost | None:
        """The thread stored for this content since `since` (by idempotency key, else by its first text):
        its parts up to the first one missing (a part deleted since breaks the chain there)."""
        account = await self._holder(ctx)
        posts = await asyncio.to_thread(
            self.feed.find, account.id, content.idempotency_key, content.text, since
        )
        chain: list[FeedPost] = []
        for post in posts:
            if post.position != len(chain) or post.reply_to != (chain[-1].id if chain else None):
                break
            chain.append(post)
        if not chain:
            return None
        return FoundPost(
            part_ids=[p.id for p in chain],
            url=self.page_url(account.name, chain[0].id),
            raw={"sandbox": True, "root_id": chain[0].root_id},
        )

    async def delete(self, ctx: AccountContext, external_id: str) -> None:
        """Remove one post from the feed (a post already gone is fine)."""
        account = await self._holder(ctx)
        try:
            await asyncio.to_thread(self.feed.delete, account.id, external_id)
        except NotYours as exc:
            raise Rejected(f"Sandbox: {exc}.", status=403) from None

    def public_url(self, ctx: AccountContext, external_id: str) -> str | None:
        """The post on its account's feed page."""
        return self.page_url(ctx.handle, external_id)

    # ----- metrics: none, and it says so ---------------------------------------------------------
    def metrics_unavailable(self, kind: str) -> str:
        """The sandbox's reason, wherever a number would have been."""
        return NO_METRICS

    async def post_metrics(self, ctx: AccountContext, external_id: str) -> MetricsSnapshot:
        """Refused: the sandbox produces no metrics."""
        raise Rejected(NO_METRICS + ".")

    async def account_metrics(self, ctx: AccountContext) -> MetricsSnapshot:
        """Refused: the sandbox produces no metrics."""
        raise Rejected(NO_METRICS + ".")


def _media(item: MediaItem) -> dict[str, Any]:
    """What the feed keeps of an attachment: OCMA's media id (its page signs a fresh URL) and the facts."""
    return {
        "media_id": item.media_id,
        "mime_type": item.mime_type,
        "alt_text": item.alt_text,
        "size": item.size,
        "sha256": item.sha256,
        "width": item.width,
        "height": item.height,
    }


def _raise(fault: Fault) -> None:
    """The failure a fault asked for, as a real platform would have answered."""
    if fault.kind == "rate_limit":
        raise RateLimited(
            "Sandbox rate limit (asked for with fail_next)",
            retry_at=datetime.now(UTC) + timedelta(seconds=fault.retry_after_s),
            status=429,
        )
    if fault.kind == "auth":
        raise AuthExpired("Sandbox refused the token (asked for with fail_next).", status=401)
    if fault.kind == "server_error":
        raise Transient("Sandbox server error (asked for with fail_next); nothing was stored.", status=503)
    raise Unconfirmed("Sandbox stored the post but the answer was lost (asked for with fail_next).")
