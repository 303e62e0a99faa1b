"""The Threads Platform: text, image, video and carousel posts, threads as reply chains, insights, webhooks."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ocma_core import (
    AccountContext,
    Capability,
    FoundPost,
    Limits,
    MediaRules,
    MetricsSnapshot,
    OAuthClient,
    PostContent,
    Problem,
    Profile,
    PublishResult,
    Rejected,
    TextLimit,
    TokenSet,
    Unconfirmed,
)
from ocma_core.platforms import graph
from ocma_threads import auth, posting
from ocma_threads.counting import MAX_TEXT, threads_length

POST_METRICS = ("views", "likes", "replies", "reposts", "quotes", "shares")
USER_METRICS = ("views", "likes", "replies", "reposts", "quotes", "clicks", "followers_count")


class ThreadsPlatform(graph.GraphPlatform):
    """Threads through Meta's Threads API (graph.threads.net)."""

    name = "threads"
    display_name = "Threads"
    webhook_object = "threads"
    capabilities = frozenset(
        {
            Capability.PUBLISH_TEXT,
            Capability.PUBLISH_IMAGES,
            Capability.PUBLISH_VIDEO,
            Capability.THREADS,
            Capability.DELETE,
            Capability.FIND_PUBLISHED,
            Capability.POST_METRICS,
            Capability.ACCOUNT_METRICS,
            Capability.WEBHOOKS,
        }
    )
    limits = Limits(
        text=TextLimit(max_length=MAX_TEXT, counter=threads_length),
        media=MediaRules(
            max_images=20,
            max_videos=20,
            image_types=("image/jpeg", "image/png"),
            video_types=("video/mp4", "video/quicktime"),
            max_image_bytes=8 * 1024 * 1024,
            max_video_bytes=1024 * 1024 * 1024,
            mix_images_and_video=True,
        ),
        max_thread_length=25,
    )
    default_api_base = "https://graph.threads.net"
    default_auth_base = "https://threads.net"
    default_scopes = auth.SCOPES
    max_concurrency = 4
    needs_public_media = True

    # ----- configuration -------------------------------------------------------------------------
    @property
    def version(self) -> str:
        """The Threads API has one version, v1.0."""
        return "v1.0"

    @property
    def scopes(self) -> tuple[str, ...]:
        """Permissions asked for (OCMA_THREADS_SCOPES, comma-separated)."""
        return self.scopes_setting(auth.SCOPES)

    def user_path(self, ctx: AccountContext) -> str:
        """The account's node (its Threads user id)."""
        return str(ctx.external_id or ctx.settings.get("user_id") or "me")

    def oauth_client(self, options: Mapping[str, str] | None = None) -> OAuthClient:
        """Threads OAuth (comma-separated scopes, the app secret, no PKCE)."""
        return self.meta_oauth_client(
            f"{self.auth_base}/oauth/authorize", f"{self.api_base}/oauth/access_token", self.scopes
        )

    # ----- authorisation -------------------------------------------------------------------------
    async def exchange_code(
        self,
        code: str,
        code_verifier: str | None,
        redirect_uri: str,
        options: Mapping[str, str] | None = None,
    ) -> TokenSet:
        """Code → one-hour token → 60-day token."""
        return await auth.exchange_code(self, code, redirect_uri, self.scopes)

    async def refresh(self, ctx: AccountContext) -> TokenSet:
        """`th_refresh_token` with the unexpired long-lived token."""
        return await auth.refresh(self, ctx)

    async def get_profile(self, ctx: AccountContext) -> Profile:
        """`GET /me?fields=id,username,name`."""
        body = await self.call("GET", "me", ctx, bucket="me", params={"fields": "id,username,name"})
        user_id, handle = str(body["id"]), str(body.get("username") or body["id"])
        return Profile(
            external_id=user_id,
            handle=handle,
            display_name=str(body.get("name") or handle),
            url=f"https://www.threads.net/@{handle}",
        )

    # ----- content -------------------------------------------------------------------------------
    def validate(self, content: PostContent) -> list[Problem]:
        """Each part's 500 characters as Threads counts them, media, reply_control and links."""
        problems = super().validate(content)  # every part, as Threads counts it
        control = content.options.get("reply_control")
        if control is not None and control not in posting.REPLY_CONTROLS:
            problems.append(
                Problem(
                    "reply_control",
                    f"reply_control is one of {', '.join(posting.REPLY_CONTROLS)}.",
                    "options",
                )
            )
        if content.options.get("link") and content.media:
            problems.append(
                Problem("link_with_media", "A Threads link attachment goes on a text-only post.", "options")
            )
        return problems

    async def publish(self, ctx: AccountContext, content: PostContent) -> PublishResult:
        """Post every part, each replying to the one before (see ocma_threads.posting)."""
        return await self._parts(ctx, content, None)

    async def continue_thread(
        self, ctx: AccountContext, content: PostContent, found: FoundPost
    ) -> PublishResult:
        """Post the parts after `found`, the first new one replying to the last found."""
        return await self._parts(ctx, content, found)

    async def _parts(
        self, ctx: AccountContext, content: PostContent, found: FoundPost | None
    ) -> PublishResult:
        await posting.quota(self, ctx, content, replies_only=found is not None)
        parts = content.all_parts()
        stopped: list[str] = []

        async def post_part(index: int, before: list[str]) -> str:
            try:
                return await posting.post_part(
                    self, ctx, parts[index], content.options, before[-1] if before else None
                )
            except posting.StillProcessing as stop:
                stopped.extend([*before, stop.handle])
                raise

        try:
            ids = await self.post_thread(ctx, content, post_part, found)
        except posting.StillProcessing:
            return PublishResult(external_id=stopped[0], pending=True, part_ids=stopped)
        return PublishResult(external_id=ids[0], url=await self.permalink(ctx, ids[0]), part_ids=ids)

    async def check_pending(self, ctx: AccountContext, external_id: str) -> PublishResult:
        """Ask about a media container once: pending, refused (Rejected), or publish it now."""
        container, text_digest, reply_to = posting.parse_handle(external_id)
        status, error = await posting.container_status(self, ctx, container)
        if status in ("IN_PROGRESS", ""):
            return PublishResult(external_id=external_id, pending=True)
        if status in ("ERROR", "EXPIRED"):
            raise posting.refused(status, error)
        if status == "PUBLISHED":  # the answer to threads_publish was lost: find it, never publish again
            post = await posting.find_by_digest(self, ctx, text_digest, reply_to)
            if post is None:
                raise Unconfirmed(
                    f"Threads says container {container} is published; the post is not listed yet."
                )
            return PublishResult(
                external_id=str(post["id"]), url=post.get("permalink"), part_ids=[str(post["id"])]
            )
        post_id = await posting.publish_container(self, ctx, container)
        return PublishResult(external_id=post_id, url=await self.permalink(ctx, post_id), part_ids=[post_id])

    async def find_published(
        self, ctx: AccountContext, content: PostContent, since: datetime
    ) -> FoundPost | None:
        """The parts that exist: the first among the account's posts, each next among the replies to the last."""
        found = await posting.find_parts(self, ctx, content, since)
        if not found:
            return None
        return FoundPost(part_ids=[str(p["id"]) for p in found], url=found[0].get("permalink"))

    async def delete(self, ctx: AccountContext, external_id: str) -> None:
        """`DELETE /{post}`; a post that no longer exists is already deleted."""
        response = await self.send(
            "DELETE",
            self.graph_url(external_id),
            ctx=ctx,
            bucket="delete",
            params=self.auth_params(ctx.tokens.access_token),
        )
        error = graph.graph_error(response) if response.status_code >= 400 else None
        if error is not None and error.code == 100 and error.subcode == 33:
            return
        self.raise_for_status(response, effect=True)

    # ----- metrics -------------------------------------------------------------------------------
    async def post_metrics(self, ctx: AccountContext, external_id: str) -> MetricsSnapshot:
        """`GET /{post}/insights?metric=views,likes,replies,reposts,quotes,shares`."""
        body = await self.call(
            "GET", f"{external_id}/insights", ctx, bucket="metrics", params={"metric": ",".join(POST_METRICS)}
        )
        values = _insight_values(body)
        unavailable = tuple(m for m in POST_METRICS if m not in values)
        return MetricsSnapshot(values=values, fetched_at=datetime.now(UTC), unavailable=unavailable)

    async def account_metrics(self, ctx: AccountContext) -> MetricsSnapshot:
        """`GET /{user}/threads_insights`: followers and totals (views summed over the days Meta returns)."""
        body = await self.call(
            "GET",
            f"{self.user_path(ctx)}/threads_insights",
            ctx,
            bucket="metrics",
            params={"metric": ",".join(USER_METRICS)},
        )
        values = _insight_values(body)
        if not values:
            raise Rejected("Threads returned no insights for this account.")
        unavailable = tuple(m for m in USER_METRICS if m not in values)
        return MetricsSnapshot(values=values, fetched_at=datetime.now(UTC), unavailable=unavailable)


def _insight_values(body: Mapping[str, Any]) -> dict[str, float]:
    """`values[].value` (summed over days) or `total_value.value` of each insights entry."""
    values: dict[str, float] = {}
    for item in body.get("data") or []:
        if not isinstance(item, dict) or not item.get("name"):
            continue
        total = (item.get("total_value") or {}).get("value")
        points = [p.get("value") for p in item.get("values") or [] if isinstance(p, dict)]
        numbers = [p for p in points if isinstance(p, int | float) and not isinstance(p, bool)]
        if isinstance(total, int | float) and not isinstance(total, bool):
            values[str(item["name"])] = float(total)
        elif numbers:
            values[str(item["name"])] = float(sum(numbers))
    return values
