"""The LinkedIn Platform: OAuth, OpenID userinfo, Posts API, deletion, finding posts, metrics, webhooks."""

from __future__ import annotations

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
    Platform,
    PostContent,
    Problem,
    Profile,
    PublishResult,
    RateBudget,
    Rejected,
    TextLimit,
    TokenSet,
    Unconfirmed,
    WebhookEvent,
)
from ocma_linkedin import auth, media, metrics, webhooks
from ocma_linkedin.errors import raise_for_linkedin
from ocma_linkedin.restli import DEFAULT_VERSION, author_kind, encode, rest_headers
from ocma_linkedin.text import MAX_COMMENTARY, escape_commentary, unescape_commentary

VISIBILITIES = ("PUBLIC", "CONNECTIONS", "LOGGED_IN")
READ_MEMBER_POSTS = "r_member_social"
ORGANIZATION_READ_SCOPES = frozenset(
    {"rw_organization_admin", "r_organization_social", "w_organization_social"}
)
CANNOT_READ_MEMBER_POSTS = (
    "LinkedIn does not let this app read the member's posts back (that needs the restricted r_member_social "
    "scope), so whether the last attempt was published cannot be checked. Look at the LinkedIn profile, then "
    "retry if the post is not there."
)


class LinkedInPlatform(Platform):
    """LinkedIn: posts as a member or as an organisation page the member administers."""

    name = "linkedin"
    display_name = "LinkedIn"
    capabilities = frozenset(
        {
            Capability.PUBLISH_TEXT,
            Capability.PUBLISH_IMAGES,
            Capability.PUBLISH_VIDEO,
            Capability.DELETE,
            Capability.FIND_PUBLISHED,
            Capability.POST_METRICS,
            Capability.ACCOUNT_METRICS,
            Capability.WEBHOOKS,
        }
    )
    limits = Limits(
        text=TextLimit(max_length=MAX_COMMENTARY),
        # multiImage takes 2-20 images; one video per post; images and video are not mixed.
        media=MediaRules(
            max_images=20,
            max_videos=1,
            image_types=("image/jpeg", "image/png", "image/gif"),
            video_types=("video/mp4",),
            max_video_bytes=500 * 1024 * 1024,
        ),
    )
    default_api_base = "https://api.linkedin.com"
    default_auth_base = "https://www.linkedin.com"
    default_scopes = auth.MEMBER_SCOPES
    # LinkedIn publishes no numbers (they are per app and endpoint, shown in the developer portal, reset at
    # midnight UTC). 150 member posts a day is the figure third-party schedulers document.
    rate_budgets = (RateBudget(bucket="publish", scope="account", limit=150, window_s=86400),)
    max_concurrency = 4
    #: How long publish waits for LinkedIn to finish processing an uploaded video, and how often it asks.
    video_wait_s: float = 120.0
    video_poll_s: float = 2.0

    # ----- configuration -------------------------------------------------------------------------
    @property
    def version(self) -> str:
        """The LinkedIn-Version header (YYYYMM); OCMA_LINKEDIN_VERSION overrides the default."""
        return self.setting("VERSION") or DEFAULT_VERSION

    def rest_headers(self, ctx: AccountContext, method: str | None = None) -> dict[str, str]:
        """Headers for a /rest/* call as this account."""
        return rest_headers(ctx.tokens.access_token, self.version, method=method)

    def oauth_client(self, options: Mapping[str, str] | None = None) -> OAuthClient:
        """Authorization-code client; LinkedIn web apps use the client secret and no PKCE."""
        return OAuthClient(
            authorize_url=f"{self.auth_base}/oauth/v2/authorization",
            token_url=f"{self.auth_base}/oauth/v2/accessToken",
            client_id=self.require_setting("CLIENT_ID"),
            client_secret=self.require_setting("CLIENT_SECRET"),
            scopes=auth.resolve_scopes(self.setting("SCOPES")),
            pkce=False,
        )

    # ----- authorisation -------------------------------------------------------------------------
    async def exchange_code(
        self,
        code: str,
        code_verifier: str | None,
        redirect_uri: str,
        options: Mapping[str, str] | None = None,
    ) -> TokenSet:
        """Exchange the code with client_id + client_secret in the form (no PKCE verifier)."""
        return await auth.exchange_code(self, code, redirect_uri)

    async def refresh(self, ctx: AccountContext) -> TokenSet:
        """Refresh with the (non-rotating) refresh token, or AuthExpired naming the reconnect-by date."""
        return await auth.refresh(self, ctx)

    async def get_profile(self, ctx: AccountContext) -> Profile:
        """GET /v2/userinfo (OpenID Connect): sub, name, email; the author URN is urn:li:person:{sub}.

        With organisation scopes, Profile.extra["organizations"] also lists the pages the member can post
        as ([{urn, role, name}]), so a settings screen can offer them for settings["author_urn"].
        """
        response = await self.send(
            "GET",
            f"{self.api_base}/v2/userinfo",
            ctx=ctx,
            bucket="userinfo",
            headers={"Authorization": f"Bearer {ctx.tokens.access_token}"},
        )
        raise_for_linkedin(response)
        body = response.json()
        sub = str(body["sub"])
        name = str(body.get("name") or "").strip()
        handle = name or str(body.get("email") or "") or sub
        extra: dict[str, Any] = {"person_urn": f"urn:li:person:{sub}"}
        if ORGANIZATION_READ_SCOPES & set(ctx.tokens.scopes):
            try:
                extra["organizations"] = await self.list_organizations(ctx)
            except Rejected:  # the app lacks the product or the member lacks a role: no pages to offer
                extra["organizations"] = []
        return Profile(external_id=sub, handle=handle, display_name=name or handle, extra=extra)

    async def list_organizations(self, ctx: AccountContext) -> list[dict[str, str]]:
        """Organisation pages the member administers (role ADMINISTRATOR, state APPROVED), with names."""
        query = "q=roleAssignee&role=ADMINISTRATOR&state=APPROVED&count=100"
        url = f"{self.api_base}/rest/organizationAcls?{query}"
        response = await self.send(
            "GET", url, ctx=ctx, bucket="organizationAcls", headers=self.rest_headers(ctx, "FINDER")
        )
        raise_for_linkedin(response)
        pages: list[dict[str, str]] = []
        for acl in response.json().get("elements", []):
            org = str(acl.get("organization") or acl.get("organizationTarget") or "")
            if author_kind(org) != "organization":
                continue
            pages.append(
                {"urn": org, "role": str(acl.get("role", "")), "name": await self._org_name(ctx, org)}
            )
        return pages

    async def _org_name(self, ctx: AccountContext, org: str) -> str:
        response = await self.send(
            "GET",
            f"{self.api_base}/rest/organizations/{org.rsplit(':', 1)[1]}",
            ctx=ctx,
            bucket="organizations",
            headers=self.rest_headers(ctx),
        )
        if response.status_code >= 400:
            return ""
        return str(response.json().get("localizedName") or "")

    # ----- content -------------------------------------------------------------------------------
    def author(self, ctx: AccountContext, content: PostContent | None = None) -> str:
        """The author URN: content.options["author"], else settings["author_urn"], else the member."""
        chosen = (content.options.get("author") if content else None) or ctx.settings.get("author_urn")
        urn = str(chosen or ctx.settings.get("person_urn") or f"urn:li:person:{ctx.external_id}")
        if author_kind(urn) is None:
            raise Rejected(
                f"{urn!r} is not a LinkedIn author URN (urn:li:person:ID or urn:li:organization:ID)."
            )
        return urn

    def validate(self, content: PostContent) -> list[Problem]:
        """The generic limits plus LinkedIn's rules: no threads, author URN and visibility options."""
        problems = super().validate(content)
        author = content.options.get("author")
        if author is not None and author_kind(str(author)) is None:
            problems.append(
                Problem(
                    "author",
                    f"{author!r} is not urn:li:person:ID or urn:li:organization:ID.",
                    "options.author",
                )
            )
        visibility = content.options.get("visibility")
        if visibility is not None and visibility not in VISIBILITIES:
            problems.append(
                Problem(
                    "visibility",
                    f"LinkedIn visibility must be one of {', '.join(VISIBILITIES)}.",
                    "options.visibility",
                )
            )
        return problems

    async def _media_content(self, ctx: AccountContext, author: str, content: PostContent) -> dict[str, Any]:
        images = [m for m in content.media if not m.is_video]
        videos = [m for m in content.media if m.is_video]
        if videos:
            video = await media.upload_video(self, ctx, author, videos[0])
            title = content.options.get("video_title")
            return {"media": {"id": video, **({"title": str(title)} if title else {})}}
        uploaded = [(await media.upload_image(self, ctx, author, item), item.alt_text) for item in images]
        entries = [{"id": urn, **({"altText": alt} if alt else {})} for urn, alt in uploaded]
        if len(entries) == 1:
            return {"media": entries[0]}
        return {"multiImage": {"images": entries}} if entries else {}

    def post_body(self, author: str, content: PostContent, media_content: dict[str, Any]) -> dict[str, Any]:
        """The POST /rest/posts body for `content` by `author` (commentary in little format)."""
        body: dict[str, Any] = {
            "author": author,
            "commentary": escape_commentary(content.text),
            "visibility": str(content.options.get("visibility") or "PUBLIC"),
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": bool(content.options.get("disable_reshare", False)),
        }
        if media_content:
            body["content"] = media_content
        return body

    async def publish(self, ctx: AccountContext, content: PostContent) -> PublishResult:
        """Upload media, then POST /rest/posts; the new post's URN comes in the x-restli-id header."""
        author = self.author(ctx, content)
        body = self.post_body(author, content, await self._media_content(ctx, author, content))
        response = await self.send(
            "POST",
            f"{self.api_base}/rest/posts",
            ctx=ctx,
            bucket="publish",
            headers=self.rest_headers(ctx),
            json=body,
        )
        raise_for_linkedin(response, creates_post=True)
        urn = response.headers.get("x-restli-id") or response.headers.get("x-linkedin-id")
        if not urn:
            raise Unconfirmed(
                f"LinkedIn answered {response.status_code} without an x-restli-id header.",
                status=response.status_code,
            )
        return PublishResult(
            external_id=urn, url=self.public_url(ctx, urn), part_ids=[urn], raw={"author": author}
        )

    async def find_published(
        self, ctx: AccountContext, content: PostContent, since: datetime
    ) -> FoundPost | None:
        """Page through the author's posts (finder q=author, newest first) for the same commentary.

        Reading a member's posts needs the restricted r_member_social scope; without it LinkedIn cannot be
        asked, and we say so (Rejected) instead of guessing.
        """
        author = self.author(ctx, content)
        if author_kind(author) == "person" and READ_MEMBER_POSTS not in ctx.tokens.scopes:
            raise Rejected(CANNOT_READ_MEMBER_POSTS, code="cannot_look_up")
        cutoff_ms = int((since - timedelta(minutes=2)).timestamp() * 1000)
        for start in range(0, 300, 50):
            url = (
                f"{self.api_base}/rest/posts?author={encode(author)}&q=author&count=50&start={start}"
                "&sortBy=LAST_MODIFIED"
            )
            response = await self.send(
                "GET", url, ctx=ctx, bucket="posts.finder", headers=self.rest_headers(ctx, "FINDER")
            )
            raise_for_linkedin(response)
            elements = [e for e in response.json().get("elements", []) if isinstance(e, dict)]
            for post in elements:
                created = int(post.get("createdAt") or post.get("publishedAt") or 0)
                text = unescape_commentary(str(post.get("commentary") or ""))
                if created >= cutoff_ms and text == content.text and post.get("id"):
                    urn = str(post["id"])
                    return FoundPost(part_ids=[urn], url=self.public_url(ctx, urn))
            oldest = min((int(p.get("lastModifiedAt") or 0) for p in elements), default=0)
            if len(elements) < 50 or oldest < cutoff_ms:
                return None
        return None

    async def delete(self, ctx: AccountContext, external_id: str) -> None:
        """DELETE /rest/posts/{url-encoded URN} (204; deleting again is also 204)."""
        response = await self.send(
            "DELETE",
            f"{self.api_base}/rest/posts/{encode(external_id)}",
            ctx=ctx,
            bucket="delete",
            headers=self.rest_headers(ctx, "DELETE"),
        )
        raise_for_linkedin(response)

    # ----- metrics -------------------------------------------------------------------------------
    async def post_metrics(self, ctx: AccountContext, external_id: str) -> MetricsSnapshot:
        """Organisation share statistics, or member post analytics when the token allows them."""
        author = self.author(ctx)
        if author_kind(author) == "organization":
            return await metrics.organization_post(self, ctx, author, external_id)
        return await metrics.member_post(self, ctx, external_id)

    async def account_metrics(self, ctx: AccountContext) -> MetricsSnapshot:
        """Organisation followers, or what LinkedIn exposes for a member (often nothing)."""
        author = self.author(ctx)
        if author_kind(author) == "organization":
            return await metrics.organization_account(self, ctx, author)
        return await metrics.member_account(self, ctx)

    # ----- webhooks ------------------------------------------------------------------------------
    def webhook_challenge(self, params: Mapping[str, str]) -> tuple[int, dict[str, Any] | str] | None:
        """Answer LinkedIn's GET ?challengeCode= validation."""
        if not params.get("challengeCode"):
            return None
        return webhooks.answer_challenge(self.require_setting("CLIENT_SECRET"), params)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Check X-LI-Signature against the client secret."""
        secret = self.setting("CLIENT_SECRET")
        return bool(secret) and webhooks.verify(str(secret), headers, body)

    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        """Organisation social-action notifications (likes, comments, shares, mentions)."""
        return webhooks.parse(body)

    def public_url(self, ctx: AccountContext, external_id: str) -> str | None:
        """https://www.linkedin.com/feed/update/{urn}/ (works for share and ugcPost URNs)."""
        return f"https://www.linkedin.com/feed/update/{external_id}/"


def reconnect_by(tokens: TokenSet) -> datetime | None:
    """When the account stops working without a reconnect: refresh-token expiry, else access-token expiry."""
    when = tokens.refresh_expires_at if tokens.refresh_token else tokens.expires_at
    return when.astimezone(UTC) if when else None
