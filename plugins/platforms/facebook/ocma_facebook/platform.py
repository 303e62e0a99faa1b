"""The Facebook Pages Platform: one OCMA account per Page, posting as the Page with its Page token."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ocma_core import (
    AccountContext,
    Capability,
    ConfigError,
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
from ocma_facebook import auth, metrics, publishing, video

#: Meta's limit on a Page post's text (unconfirmed in Meta's reference; the figure third-party tools use).
MAX_MESSAGE = 63_206


class FacebookPlatform(graph.GraphPlatform):
    """Facebook Pages through the Graph API: text, link, photo and video posts, delete, metrics, webhooks."""

    name = "facebook"
    display_name = "Facebook"
    webhook_object = "page"
    capabilities = frozenset(
        {
            Capability.PUBLISH_TEXT,
            Capability.PUBLISH_IMAGES,
            Capability.PUBLISH_VIDEO,
            Capability.THREADS,
            Capability.COMMENTS,
            Capability.DELETE,
            Capability.FIND_PUBLISHED,
            Capability.POST_METRICS,
            Capability.ACCOUNT_METRICS,
            Capability.WEBHOOKS,
        }
    )
    limits = Limits(
        text=TextLimit(max_length=MAX_MESSAGE),
        media=MediaRules(
            max_images=10,
            max_videos=1,
            image_types=("image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff"),
            video_types=("video/mp4", "video/quicktime"),
            max_image_bytes=4 * 1024 * 1024,
            max_video_bytes=1024 * 1024 * 1024,
        ),
        max_thread_length=2,  # the post and its first comment
    )
    default_api_base = "https://graph.facebook.com"
    default_auth_base = "https://www.facebook.com"
    default_scopes = auth.PAGE_SCOPES
    max_concurrency = 4
    connect_options = {"page": "The Page to connect, by id or name (when the person manages several)."}

    # ----- configuration -------------------------------------------------------------------------
    @property
    def video_api_base(self) -> str:
        """Where videos are uploaded: OCMA_FACEBOOK_VIDEO_API_BASE, else OCMA_FACEBOOK_API_BASE when that is set (a
        proxy or gateway carries both), else https://graph-video.facebook.com."""
        chosen = (
            self.setting("VIDEO_API_BASE") or self.setting("API_BASE") or "https://graph-video.facebook.com"
        )
        return chosen.rstrip("/")

    def trusted_hosts(self) -> frozenset[str]:
        """The API, login and video-upload hosts."""
        from ocma_core.net import host_of

        return super().trusted_hosts() | frozenset(h for h in (host_of(self.video_api_base),) if h)

    def auth_params(self, token: str, params: Mapping[str, str] | None = None) -> dict[str, str]:
        """Query parameters of a call with `token`: the token and its `appsecret_proof`."""
        proof = graph.appsecret_proof(self.app_secret, token)
        return {**super().auth_params(token, params), "appsecret_proof": proof}

    def oauth_client(self, options: Mapping[str, str] | None = None) -> OAuthClient:
        """Facebook Login with the Page permissions (no PKCE for a web app with a secret; comma-separated).

        Option `page` (the Page to connect) is used by the code exchange."""
        return self.meta_oauth_client(
            f"{self.auth_base}/{self.version}/dialog/oauth",
            self.graph_url("oauth/access_token"),
            self.scopes_setting(auth.PAGE_SCOPES),
        )

    # ----- authorisation -------------------------------------------------------------------------
    async def exchange_code(
        self,
        code: str,
        code_verifier: str | None,
        redirect_uri: str,
        options: Mapping[str, str] | None = None,
    ) -> TokenSet:
        """Code → long-lived user token → the chosen Page's token (option `page`: its id or name)."""
        long_lived = await auth.user_token(self, code, redirect_uri)
        pages = await auth.managed_pages(self, str(long_lived["access_token"]))
        page = (options or {}).get("page", "")
        return auth.page_tokens(long_lived, auth.choose_page(pages, page.strip()))

    async def refresh(self, ctx: AccountContext) -> TokenSet:
        """Facebook has no refresh tokens: AuthExpired naming the reconnect date."""
        said = "Facebook issues no refresh tokens: log in with Facebook again to reconnect this Page"
        raise graph.no_refresh_token(ctx, said)

    async def get_profile(self, ctx: AccountContext) -> Profile:
        """`GET /me` with the Page token (the Page), then `debug_token` for its validity and expiry dates."""
        body = await self.call("GET", "me", ctx, bucket="me", params={"fields": "id,name,username,link"})
        page_id, name = str(body["id"]), str(body.get("name") or "")
        info = await auth.debug_token(self, ctx.tokens.access_token)
        extra: dict[str, Any] = {"page_id": page_id, "page_name": name, "token_type": info.get("type")}
        for key in ("expires_at", "data_access_expires_at"):
            when = auth.unix_time(info.get(key))
            extra[f"token_{key}"] = when
        if info.get("scopes"):
            extra["granted_scopes"] = list(info["scopes"])
        handle = str(body.get("username") or name or page_id)
        url = str(body.get("link") or f"https://www.facebook.com/{page_id}")
        return Profile(external_id=page_id, handle=handle, display_name=name or handle, url=url, extra=extra)

    # ----- content -------------------------------------------------------------------------------
    def page_id(self, ctx: AccountContext) -> str:
        """The Page the account posts to."""
        page = str(ctx.settings.get("page_id") or ctx.external_id)
        if not page:
            raise ConfigError("This Facebook account has no Page id; reconnect it.")
        return page

    def validate(self, content: PostContent) -> list[Problem]:
        """The generic limits, plus: a post needs text, a link or media; a video goes alone; a thread is the post
        and one follow-up comment (text only), posted as the Page's first comment."""
        problems = super().validate(content)
        if not (content.text.strip() or content.media or content.options.get("link")):
            problems.append(Problem("empty", "A Facebook post needs a message, a link or a photo."))
        if any(m.is_video for m in content.media) and len(content.media) > 1:
            problems.append(Problem("video_alone", "A Facebook video post carries the video only.", "media"))
        if any(part.media for part in content.thread):
            problems.append(
                Problem("comment_media", "The follow-up comment on Facebook is text only.", "thread[0].media")
            )
        return problems

    async def publish(self, ctx: AccountContext, content: PostContent) -> PublishResult:
        """A feed post (text, link), a photo post, a multi-photo post (`attached_media`) or a video."""
        videos = [m for m in content.media if m.is_video]
        if (
            videos
        ):  # a processing video cannot carry its comment yet: the engine posts it after (continue_thread)
            video_id = await video.upload(self, ctx, self.page_id(ctx), videos[0], content)
            result = await video.check(self, ctx, video.PREFIX + video_id)
            if result.pending or not content.thread:
                return result
            return await self.continue_thread(ctx, content, FoundPost(part_ids=[result.external_id]))
        return await self._parts(ctx, content, None)

    async def continue_thread(
        self, ctx: AccountContext, content: PostContent, found: FoundPost
    ) -> PublishResult:
        """Post the follow-up comment after the post that exists."""
        return await self._parts(ctx, content, found)

    async def _parts(
        self, ctx: AccountContext, content: PostContent, found: FoundPost | None
    ) -> PublishResult:
        parts = content.all_parts()
        page = self.page_id(ctx)

        async def post_part(index: int, before: list[str]) -> str:
            if index == 0:
                return await publishing.publish(self, ctx, page, content)
            return await publishing.comment(self, ctx, before[0], parts[index])

        ids = await self.post_thread(ctx, content, post_part, found)
        return PublishResult(external_id=ids[0], url=self.public_url(ctx, ids[0]), part_ids=ids)

    async def check_pending(self, ctx: AccountContext, external_id: str) -> PublishResult:
        """A video Meta is processing: pending, published (its post) or failed with Meta's reason."""
        return await video.check(self, ctx, external_id)

    async def find_published(
        self, ctx: AccountContext, content: PostContent, since: datetime
    ) -> FoundPost | None:
        """The Page's own post with the same message created since `since` (`GET /{page}/posts`), and its
        follow-up comment when there is one (`GET /{post}/comments`)."""
        if any(m.is_video for m in content.media):
            found = await video.find(self, ctx, self.page_id(ctx), content)
            if found and found.startswith(video.PREFIX):  # uploaded, still processing: follow it as pending
                result = await video.check(self, ctx, found)
                found = None if result.pending else result.external_id
                if found is None:
                    raise Unconfirmed(
                        "Facebook is still processing the uploaded video; it will be looked up again."
                    )
        else:
            found = await publishing.find(self, ctx, self.page_id(ctx), content, since)
        if not found:
            return None
        ids = [found]
        if content.thread and not found.startswith(video.PREFIX):
            follow = await publishing.find_comment(self, ctx, self.page_id(ctx), found, content.thread[0])
            ids += [follow] if follow else []
        return FoundPost(part_ids=ids, url=self.public_url(ctx, found))

    async def delete(self, ctx: AccountContext, external_id: str) -> None:
        """`DELETE /{post-id}`; a post that no longer exists is already deleted."""
        await publishing.delete(self, ctx, external_id)

    # ----- metrics -------------------------------------------------------------------------------
    async def post_metrics(self, ctx: AccountContext, external_id: str) -> MetricsSnapshot:
        """Reactions, comments and shares, plus the post insights Meta still serves."""
        return await metrics.post(self, ctx, external_id)

    async def account_metrics(self, ctx: AccountContext) -> MetricsSnapshot:
        """The Page's followers (and likes, while Meta serves `fan_count`)."""
        return await metrics.page(self, ctx, self.page_id(ctx))

    def public_url(self, ctx: AccountContext, external_id: str) -> str | None:
        """https://www.facebook.com/{page-id}_{post-id}."""
        return f"https://www.facebook.com/{external_id}"


def reconnect_by(tokens: TokenSet) -> datetime | None:
    """When the account needs a new Facebook login: the long-lived user token's expiry."""
    return tokens.expires_at.astimezone(UTC) if tokens.expires_at else None
