"""The TikTok Platform: Login Kit v2, the Content Posting API, Display API metrics, signed webhooks."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ocma_core import (
    AccountContext,
    Capability,
    FoundPost,
    Limits,
    MediaRules,
    MetricsSnapshot,
    OAuthClient,
    Platform,
    PostContent,
    Problem,
    Profile,
    PublishResult,
    RateBudget,
    Rejected,
    TextLimit,
    TokenSet,
    WebhookEvent,
)
from ocma_tiktok import api, auth, batch, metrics, posting, upload
from ocma_tiktok.options import problems as options_problems

MAX_CAPTION = 2200  # UTF-16 code units ("runes" in TikTok's reference)
MAX_VIDEO_BYTES = 4 * 1024**3


def utf16_length(text: str) -> int:
    """Length of `text` in UTF-16 code units, as TikTok counts a caption."""
    return len(text.encode("utf-16-le")) // 2


class TikTokPlatform(Platform):
    """TikTok creators: videos (uploaded in chunks or pulled from a URL), photo posts, inbox drafts."""

    name = "tiktok"
    display_name = "TikTok"
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
        text=TextLimit(max_length=MAX_CAPTION, unit="UTF-16 code units", counter=utf16_length),
        media=MediaRules(
            max_images=posting.MAX_PHOTOS,
            max_videos=1,
            image_types=("image/jpeg", "image/webp"),
            video_types=("video/mp4", "video/quicktime", "video/webm"),
            max_image_bytes=20 * 1024 * 1024,
            max_video_bytes=MAX_VIDEO_BYTES,
            requires_media=True,
        ),
    )
    default_api_base = "https://open.tiktokapis.com"
    default_auth_base = "https://www.tiktok.com"
    default_scopes = auth.SCOPES
    # TikTok's per-token, per-minute limits: 6 inits, 30 status reads, 20 creator-info queries.
    rate_budgets = (
        RateBudget("init", "account", 6, 60.0),
        RateBudget("pending_status", "account", 30, 60.0),
        RateBudget("creator_info", "account", 20, 60.0),
    )
    max_concurrency = 4
    needs_public_media = True
    error_codes = {}

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env)
        self.video_batch = batch.VideoBatch()  # video/query answers shared by a metrics round

    # ----- configuration -------------------------------------------------------------------------
    @property
    def client_key(self) -> str:
        """The app's client key (OCMA_TIKTOK_CLIENT_KEY; developers.tiktok.com, the app's page)."""
        return self.require_setting("CLIENT_KEY")

    @property
    def client_secret(self) -> str:
        """The app's client secret (OCMA_TIKTOK_CLIENT_SECRET); it also signs webhooks."""
        return self.require_setting("CLIENT_SECRET")

    @property
    def chunk_size(self) -> int:
        """Bytes per uploaded chunk (OCMA_TIKTOK_CHUNK_SIZE, default 32 MiB; 5 MiB-64 MB)."""
        return int(self.setting("CHUNK_SIZE") or upload.DEFAULT_CHUNK)

    def oauth_client(self, options: Mapping[str, str] | None = None) -> OAuthClient:
        """Login Kit v2: `client_key` in the authorize URL, comma-separated scopes, PKCE (OCMA_TIKTOK_PKCE=0 off)."""
        scopes = (self.setting("SCOPES") or ",".join(auth.SCOPES)).replace(" ", ",").split(",")
        key = self.client_key
        return OAuthClient(
            authorize_url=f"{self.auth_base}/v2/auth/authorize/",
            token_url=f"{self.api_base}/v2/oauth/token/",
            client_id=key,
            client_secret=self.client_secret,
            scopes=tuple(s for s in scopes if s),
            pkce=(self.setting("PKCE") or "1") not in ("0", "false", "no"),
            scope_separator=",",
            extra_authorize_params=(("client_key", key),),
        )

    async def call(
        self,
        method: str,
        path: str,
        ctx: AccountContext,
        *,
        bucket: str,
        creates: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """One API call as the account; the answer's `data`, or the typed failure of its `error`."""
        headers = {"Authorization": f"Bearer {ctx.tokens.access_token}"}
        if method != "GET":
            headers["Content-Type"] = "application/json; charset=UTF-8"
        response = await self.send(
            method,
            f"{self.api_base}{path}",
            ctx=ctx,
            bucket=bucket,
            expect_effect=creates,
            headers=headers,
            **kwargs,
        )
        return api.data_of(response, creates=creates)

    # ----- authorisation -------------------------------------------------------------------------
    async def exchange_code(
        self,
        code: str,
        code_verifier: str | None,
        redirect_uri: str,
        options: Mapping[str, str] | None = None,
    ) -> TokenSet:
        """`POST /v2/oauth/token/` with the code (and the PKCE verifier)."""
        return await auth.exchange_code(self, code, code_verifier, redirect_uri)

    async def refresh(self, ctx: AccountContext) -> TokenSet:
        """A new token pair; the old refresh token stops working (the engine stores the pair at once)."""
        return await auth.refresh(self, ctx)

    async def revoke(self, ctx: AccountContext) -> None:
        """Revoke the account's authorisation at TikTok (on disconnect)."""
        await auth.revoke(self, ctx)

    async def get_profile(self, ctx: AccountContext) -> Profile:
        """`GET /v2/user/info/?fields=open_id,union_id,avatar_url,display_name,username,profile_deep_link`."""
        data = await self.call(
            "GET",
            "/v2/user/info/",
            ctx,
            bucket="user_info",
            params={"fields": "open_id,union_id,avatar_url,display_name,username"},
        )
        user = data.get("user") or {}
        open_id = str(user.get("open_id") or ctx.settings.get("open_id") or "")
        username = str(user.get("username") or "")
        handle = username or str(user.get("display_name") or open_id)
        return Profile(
            external_id=open_id,
            handle=handle,
            display_name=str(user.get("display_name") or handle),
            url=f"https://www.tiktok.com/@{username}" if username else None,
            extra={"open_id": open_id, "username": username},
        )

    # ----- content -------------------------------------------------------------------------------
    def validate(self, content: PostContent) -> list[Problem]:
        """Generic limits, one video or JPEG/WebP photos, and every TikTok option (name, value, type)."""
        problems = [p for p in super().validate(content) if not _about_png(p, content)]
        problems += posting.media_problems(content) + options_problems(content)
        if content.thread:
            problems.append(Problem("thread_unsupported", "TikTok posts have no thread parts.", "thread"))
        return problems

    async def publish(self, ctx: AccountContext, content: PostContent) -> PublishResult:
        """Create the publish (uploading chunks when needed), ask its status once, hand the engine a handle."""
        pending = await posting.start(self, ctx, content)
        try:
            return await posting.status(self, ctx, pending)
        except Rejected:
            raise
        except Exception:  # the post exists: any other trouble reading its status is asked about later
            return PublishResult(external_id=pending, pending=True)

    async def check_pending(self, ctx: AccountContext, external_id: str) -> PublishResult:
        """`status/fetch` once: still processing or in moderation, published, or FAILED (Rejected)."""
        return await posting.status(self, ctx, external_id)

    async def find_published(
        self, ctx: AccountContext, content: PostContent, since: datetime
    ) -> FoundPost | None:
        """A video among the creator's newest with this caption, created since `since` (public posts only:
        TikTok lists no private posts or drafts, so those stay unfound)."""
        floor = (since - timedelta(minutes=2)).timestamp()
        for video in await metrics.recent_videos(self, ctx):
            said = {str(video.get("title") or ""), str(video.get("video_description") or "")}
            if content.text in said and float(video.get("create_time") or 0) >= floor:
                video_id = str(video["id"])
                return FoundPost(part_ids=[video_id], url=str(video.get("share_url") or "") or None)
        return None

    def video_url(self, ctx: AccountContext, video_id: str) -> str:
        """The public URL of a video."""
        username = ctx.settings.get("username") or ctx.handle
        return f"https://www.tiktok.com/@{username}/video/{video_id}"

    def public_url(self, ctx: AccountContext, external_id: str) -> str | None:
        """The video's URL when the id is a public video id."""
        return self.video_url(ctx, external_id) if external_id.isdigit() else None

    # ----- metrics -------------------------------------------------------------------------------
    async def post_metrics(self, ctx: AccountContext, external_id: str) -> MetricsSnapshot:
        """Views, likes, comments and shares from `video/query`."""
        return await metrics.post(self, ctx, external_id)

    async def account_metrics(self, ctx: AccountContext) -> MetricsSnapshot:
        """Followers, following, likes and videos from `user/info`."""
        return await metrics.account(self, ctx)

    # ----- webhooks ------------------------------------------------------------------------------
    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """`TikTok-Signature` (t=..., s=...) against the client secret; stale timestamps are refused."""
        return metrics.verify_signature(self.setting("CLIENT_SECRET"), headers, body)

    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        """`post.publish.*`, `video.*` and `authorization.removed` deliveries."""
        return metrics.parse_webhook(body)


def _about_png(problem: Problem, content: PostContent) -> bool:
    """The generic media-type problem of a PNG (replaced by TikTok's own, clearer one)."""
    return problem.code == "media_type" and problem.message.startswith("image/png ")
