"""The Instagram Platform (Instagram API with Instagram Login): container publishing, insights, webhooks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
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
    TextLimit,
    TokenSet,
    Unconfirmed,
)
from ocma_core.platforms import graph
from ocma_instagram import auth, containers, facebook_login, metrics

MAX_CAPTION = 2200
MAX_HASHTAGS = 30
MAX_MENTIONS = 20
MAX_CAROUSEL = 10
HASHTAG = re.compile(r"(?<![\w&])#\w+")
MENTION = re.compile(r"(?<![\w])@[\w.]+")


class InstagramPlatform(graph.GraphPlatform):
    """Instagram professional accounts: images, reels, stories and carousels through containers."""

    name = "instagram"
    display_name = "Instagram"
    webhook_object = "instagram"
    connect_options = {
        "page": "With Facebook Login: the Page whose Instagram account to connect (id or name)."
    }
    capabilities = frozenset(
        {
            Capability.PUBLISH_IMAGES,
            Capability.PUBLISH_VIDEO,
            Capability.FIND_PUBLISHED,
            Capability.POST_METRICS,
            Capability.ACCOUNT_METRICS,
            Capability.WEBHOOKS,
        }
    )
    limits = Limits(
        text=TextLimit(max_length=MAX_CAPTION),
        media=MediaRules(
            max_images=MAX_CAROUSEL,
            max_videos=MAX_CAROUSEL,
            image_types=("image/jpeg",),
            video_types=("video/mp4", "video/quicktime"),
            max_image_bytes=8 * 1024 * 1024,
            max_video_bytes=300 * 1024 * 1024,
            mix_images_and_video=True,
            requires_media=True,
        ),
    )
    default_api_base = "https://graph.instagram.com"
    default_auth_base = "https://www.instagram.com"
    default_scopes = auth.SCOPES
    max_concurrency = 4
    needs_public_media = True

    # ----- configuration -------------------------------------------------------------------------
    @property
    def facebook_login(self) -> bool:
        """True for the Facebook Login variant (OCMA_INSTAGRAM_LOGIN=facebook): an account behind a Page."""
        return (self.setting("LOGIN") or "instagram").strip().lower() == "facebook"

    @property
    def api_base(self) -> str:
        """graph.instagram.com, or graph.facebook.com for the Facebook Login variant (API_BASE overrides)."""
        default = "https://graph.facebook.com" if self.facebook_login else self.default_api_base
        return (self.setting("API_BASE") or default).rstrip("/")

    @property
    def auth_base(self) -> str:
        """www.instagram.com, or www.facebook.com for the Facebook Login variant (AUTH_BASE overrides)."""
        default = "https://www.facebook.com" if self.facebook_login else self.default_auth_base
        return (self.setting("AUTH_BASE") or default).rstrip("/")

    @property
    def oauth_api_base(self) -> str:
        """Where codes are exchanged (OCMA_INSTAGRAM_OAUTH_API_BASE, default https://api.instagram.com)."""
        return (self.setting("OAUTH_API_BASE") or "https://api.instagram.com").rstrip("/")

    def trusted_hosts(self) -> frozenset[str]:
        """The API, login and code-exchange hosts."""
        from ocma_core.net import host_of

        return super().trusted_hosts() | frozenset(h for h in (host_of(self.oauth_api_base),) if h)

    def user_path(self, ctx: AccountContext) -> str:
        """The account's node: its Instagram professional account id."""
        return str(ctx.settings.get("ig_user_id") or ctx.external_id or "me")

    def oauth_client(self, options: Mapping[str, str] | None = None) -> OAuthClient:
        """Business Login for Instagram, or Facebook Login for the Page variant (comma-separated scopes, the app
        secret, no PKCE); option `page` picks the Page/Instagram account of the Facebook variant in the exchange."""
        fb = self.facebook_login
        return self.meta_oauth_client(
            f"{self.auth_base}/{self.version}/dialog/oauth" if fb else f"{self.auth_base}/oauth/authorize",
            self.graph_url("oauth/access_token") if fb else f"{self.oauth_api_base}/oauth/access_token",
            self.scopes_setting(facebook_login.SCOPES if fb else auth.SCOPES),
        )

    # ----- authorisation -------------------------------------------------------------------------
    async def exchange_code(
        self,
        code: str,
        code_verifier: str | None,
        redirect_uri: str,
        options: Mapping[str, str] | None = None,
    ) -> TokenSet:
        """Code → one-hour token → 60-day token (ocma_instagram.auth), or the Facebook Login chain."""
        if self.facebook_login:
            return await facebook_login.exchange_code(
                self, code, redirect_uri, (options or {}).get("page", "")
            )
        return await auth.exchange_code(self, code, redirect_uri)

    async def refresh(self, ctx: AccountContext) -> TokenSet:
        """`ig_refresh_token` with the unexpired long-lived token (the Facebook variant cannot refresh)."""
        if ctx.settings.get("login") == "facebook" or self.facebook_login:
            raise facebook_login.no_refresh(ctx)
        return await auth.refresh(self, ctx)

    async def get_profile(self, ctx: AccountContext) -> Profile:
        """`GET /me?fields=user_id,username,name,account_type`; the Facebook variant reads `/{ig-user-id}`."""
        if ctx.settings.get("login") == "facebook":
            body = await self.call(
                "GET", self.user_path(ctx), ctx, bucket="me", params={"fields": "id,username,name"}
            )
        else:
            body = await self.call(
                "GET", "me", ctx, bucket="me", params={"fields": "id,user_id,username,name,account_type"}
            )
        user_id = str(body.get("user_id") or body["id"])
        handle = str(body.get("username") or user_id)
        extra = {"ig_user_id": user_id, "account_type": body.get("account_type")}
        if ctx.settings.get("login") == "facebook":
            extra = {"ig_user_id": user_id, "login": "facebook", "page_id": ctx.settings.get("page_id")}
        return Profile(
            external_id=user_id,
            handle=handle,
            display_name=str(body.get("name") or handle),
            url=f"https://www.instagram.com/{handle}/",
            extra=extra,
        )

    # ----- content -------------------------------------------------------------------------------
    def validate(self, content: PostContent) -> list[Problem]:
        """The generic limits plus Instagram's caption rules, kinds and carousel size."""
        problems = super().validate(content)
        if len(HASHTAG.findall(content.text)) > MAX_HASHTAGS:
            problems.append(
                Problem("too_many_hashtags", f"Instagram allows at most {MAX_HASHTAGS} hashtags.")
            )
        if len(MENTION.findall(content.text)) > MAX_MENTIONS:
            problems.append(
                Problem("too_many_mentions", f"Instagram allows at most {MAX_MENTIONS} @mentions.")
            )
        kind = str(content.options.get("instagram_type") or "feed")
        if kind not in containers.KINDS:
            problems.append(
                Problem(
                    "instagram_type", f"instagram_type is one of {', '.join(containers.KINDS)}.", "options"
                )
            )
        if len(content.media) > MAX_CAROUSEL:
            problems.append(
                Problem("too_many_media", f"A carousel has at most {MAX_CAROUSEL} items.", "media")
            )
        if kind in ("reel", "story") and len(content.media) > 1:
            problems.append(Problem("one_media", f"A {kind} carries exactly one media file.", "media"))
        if kind == "reel" and content.media and not content.media[0].is_video:
            problems.append(Problem("reel_needs_video", "A reel is a video.", "media"))
        if content.thread:
            problems.append(Problem("thread_unsupported", "Instagram posts have no thread parts.", "thread"))
        return problems

    async def publish(self, ctx: AccountContext, content: PostContent) -> PublishResult:
        """Create the container(s); publish now when Meta has finished, else hand the engine a pending handle."""
        container = await containers.create_for(self, ctx, content)
        result = await self.check_pending(ctx, containers.handle(container, content.text))
        return result

    async def check_pending(self, ctx: AccountContext, external_id: str) -> PublishResult:
        """Ask about a container once: still processing (pending), refused (Rejected), or publish it."""
        container, caption_digest = containers.parse_handle(external_id)
        code, text = await containers.status(self, ctx, container)
        if code == "IN_PROGRESS" or not code:
            return PublishResult(external_id=external_id, pending=True, raw={"status": text})
        if code in ("ERROR", "EXPIRED"):
            raise containers.refused(code, text)
        if code == "PUBLISHED":  # the answer to media_publish was lost: find the media, never publish again
            since = datetime.now(UTC) - timedelta(hours=25)
            media = await containers.find_by_caption(self, ctx, caption_digest, since)
            if media is None:
                raise Unconfirmed(
                    f"Instagram says container {container} is published; its media is not listed yet."
                )
            return self._result(str(media["id"]), media.get("permalink"))
        media_id = await containers.publish_container(self, ctx, container)
        return self._result(media_id, await self.permalink(ctx, media_id, bucket="media"))

    def _result(self, media_id: str, permalink: Any) -> PublishResult:
        return PublishResult(
            external_id=media_id, url=str(permalink) if permalink else None, part_ids=[media_id]
        )

    async def find_published(
        self, ctx: AccountContext, content: PostContent, since: datetime
    ) -> FoundPost | None:
        """The account's media with this caption, created since `since`."""
        media = await containers.find_by_caption(self, ctx, containers.digest(content.text), since)
        if media is None:
            return None
        permalink = media.get("permalink")
        return FoundPost(part_ids=[str(media["id"])], url=str(permalink) if permalink else None)

    # ----- metrics -------------------------------------------------------------------------------
    async def post_metrics(self, ctx: AccountContext, external_id: str) -> MetricsSnapshot:
        """Media insights (views, reach, likes, comments, shares, saved, total interactions)."""
        return await metrics.post(self, ctx, external_id)

    async def account_metrics(self, ctx: AccountContext) -> MetricsSnapshot:
        """Followers, follows and media count."""
        return await metrics.account(self, ctx)
