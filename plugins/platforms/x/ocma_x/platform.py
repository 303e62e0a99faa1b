"""The X (API v2) platform: OAuth 2.0 + PKCE, profile, publishing, metrics, webhooks."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ocma_core import (
    AccountContext,
    Capability,
    FoundPost,
    Limits,
    MediaRules,
    MetricsSnapshot,
    OAuthClient,
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
    Transient,
    WebhookEvent,
)
from ocma_x import history, publishing, webhooks
from ocma_x import metrics as m
from ocma_x.counting import weighted_length
from ocma_x.errors import failure_for, raise_for_x_status, read_rate_limits
from ocma_x.validation import x_problems

if TYPE_CHECKING:
    import httpx

_15_MIN, _24_H = 900.0, 86400.0


class XPlatform(Platform):
    """X (formerly Twitter) through API v2 with an OAuth 2.0 user context."""

    name = "x"
    display_name = "X"
    capabilities = frozenset(
        {
            Capability.PUBLISH_TEXT,
            Capability.PUBLISH_IMAGES,
            Capability.PUBLISH_VIDEO,
            Capability.THREADS,
            Capability.POLLS,
            Capability.DELETE,
            Capability.FIND_PUBLISHED,
            Capability.POST_METRICS,
            Capability.ACCOUNT_METRICS,
            Capability.WEBHOOKS,
        }
    )
    limits = Limits(
        text=TextLimit(max_length=280, unit="weighted characters", counter=weighted_length),
        media=MediaRules(
            max_images=4,
            max_videos=1,
            image_types=("image/jpeg", "image/png", "image/gif", "image/webp"),
            video_types=("video/mp4", "video/quicktime"),
            max_image_bytes=5 * 1024 * 1024,
            max_video_bytes=512 * 1024 * 1024,
            max_alt_text=1000,
        ),
        max_thread_length=25,
    )
    default_api_base = "https://api.x.com"
    default_auth_base = "https://x.com"
    default_scopes = ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access")
    # Documented in X's rate-limit table (docs.x.com/x-api/fundamentals/rate-limits).
    rate_budgets = (
        RateBudget("POST /2/tweets", "account", 100, _15_MIN),
        RateBudget("POST /2/tweets", "app", 10_000, _24_H),
        RateBudget("DELETE /2/tweets/:id", "account", 50, _15_MIN),
        RateBudget("GET /2/tweets/:id", "account", 900, _15_MIN),
        RateBudget("GET /2/tweets/:id", "app", 450, _15_MIN),
        RateBudget("GET /2/users/:id/tweets", "account", 900, _15_MIN),
        RateBudget("GET /2/users/:id/tweets", "app", 10_000, _15_MIN),
        RateBudget("GET /2/users/me", "account", 75, _15_MIN),
        RateBudget("POST /2/media/upload", "account", 500, _15_MIN),
        RateBudget("POST /2/media/upload", "app", 50_000, _24_H),
        RateBudget("GET /2/media/upload", "account", 1_000, _15_MIN),
        RateBudget("GET /2/media/upload", "app", 100_000, _24_H),
        RateBudget("POST /2/media/upload/initialize", "account", 1_875, _15_MIN),
        RateBudget("POST /2/media/upload/initialize", "app", 180_000, _24_H),
        RateBudget("POST /2/media/upload/:id/append", "account", 1_875, _15_MIN),
        RateBudget("POST /2/media/upload/:id/append", "app", 180_000, _24_H),
        RateBudget("POST /2/media/upload/:id/finalize", "account", 1_875, _15_MIN),
        RateBudget("POST /2/media/upload/:id/finalize", "app", 180_000, _24_H),
        RateBudget("POST /2/media/metadata", "account", 500, _15_MIN),
        RateBudget("POST /2/media/metadata", "app", 50_000, _24_H),
    )
    max_concurrency = 8

    async def sleep(self, seconds: float) -> None:
        """Wait between media STATUS polls (tests replace it on the instance to observe the delays)."""
        await asyncio.sleep(seconds)

    # ----- configuration and auth ------------------------------------------------------------------
    def oauth_client(self, options: Mapping[str, str] | None = None) -> OAuthClient:
        """OAuth 2.0 client: OCMA_X_CLIENT_ID, and OCMA_X_CLIENT_SECRET for a confidential client."""
        return OAuthClient(
            authorize_url=f"{self.auth_base}/i/oauth2/authorize",
            token_url=f"{self.api_base}/2/oauth2/token",
            client_id=self.require_setting("CLIENT_ID"),
            client_secret=self.setting("CLIENT_SECRET") or None,
            scopes=self.default_scopes,
        )

    def auth_header(self, ctx: AccountContext) -> dict[str, str]:
        """The user-context bearer header."""
        return {"Authorization": f"Bearer {ctx.tokens.access_token}"}

    async def send(
        self,
        method: str,
        url: str,
        *,
        ctx: AccountContext | None = None,
        bucket: str = "",
        expect_effect: bool | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """As the base, but records every window X reports (15-minute, user 24-hour, app 24-hour)."""
        response = await super().send(method, url, bucket=bucket, expect_effect=expect_effect, **kwargs)
        if ctx is not None:
            infos = read_rate_limits(response, bucket or f"{method.upper()} {url}")
            ctx.settings.setdefault("_rate_limits", []).extend(infos)
        return response

    def read_rate_limit(self, response: httpx.Response, bucket: str) -> RateLimitInfo | None:
        """The 15-minute window (the 24-hour ones are recorded by `send`)."""
        infos = read_rate_limits(response, bucket)
        return infos[0] if infos else None

    def raise_for_status(self, response: httpx.Response, *, effect: bool = True) -> None:
        """Map X's error bodies onto the typed failures."""
        raise_for_x_status(response, creates=False)

    async def get(
        self, ctx: AccountContext, path: str, bucket: str, params: Mapping[str, str]
    ) -> dict[str, Any]:
        """GET an API path as the account; the JSON body, or a typed failure."""
        response = await self.send(
            "GET",
            f"{self.api_base}{path}",
            ctx=ctx,
            bucket=bucket,
            params=dict(params),
            headers=self.auth_header(ctx),
        )
        if response.status_code >= 400:
            raise failure_for(response)
        body = response.json()
        if not isinstance(body, dict):
            raise Transient(f"X answered {path} with a non-object body.")
        return body

    async def get_profile(self, ctx: AccountContext) -> Profile:
        """GET /2/users/me with public_metrics."""
        body = await self.get(
            ctx, "/2/users/me", "GET /2/users/me", {"user.fields": "public_metrics,verified_type"}
        )
        user = body.get("data") or {}
        if not user.get("id"):
            raise failure_for_missing("GET /2/users/me", body)
        handle = str(user.get("username", ""))
        return Profile(
            external_id=str(user["id"]),
            handle=handle,
            display_name=str(user.get("name", "")),
            url=f"https://x.com/{handle}" if handle else None,
        )

    # ----- content ---------------------------------------------------------------------------------
    def validate(self, content: PostContent) -> list[Problem]:
        """The generic limits plus X's rules on polls, reply settings and media combinations."""
        return [*super().validate(content), *x_problems(content)]

    async def publish(self, ctx: AccountContext, content: PostContent) -> PublishResult:
        """POST /2/tweets for each part (a thread replies to the previous part), after uploading media."""
        return await publishing.publish(self, ctx, content)

    async def continue_thread(
        self, ctx: AccountContext, content: PostContent, found: FoundPost
    ) -> PublishResult:
        """The parts after those found, the first replying to the last found."""
        return await publishing.publish(self, ctx, content, found)

    async def find_published(
        self, ctx: AccountContext, content: PostContent, since: datetime
    ) -> FoundPost | None:
        """Look through the account's posts since `since` (GET /2/users/:id/tweets) for this content."""
        return await publishing.find_published(self, ctx, content, since)

    async def delete(self, ctx: AccountContext, external_id: str) -> None:
        """DELETE /2/tweets/:id (a post that is already gone counts as deleted)."""
        await publishing.delete_post(self, ctx, external_id)

    def public_url(self, ctx: AccountContext, external_id: str) -> str | None:
        """https://x.com/<handle>/status/<id>."""
        if ctx.handle:
            return f"https://x.com/{ctx.handle}/status/{external_id}"
        return f"https://x.com/i/web/status/{external_id}"

    # ----- metrics ---------------------------------------------------------------------------------
    async def post_metrics(self, ctx: AccountContext, external_id: str) -> MetricsSnapshot:
        """public_metrics, plus non_public_metrics and organic_metrics for own posts younger than 30 days."""
        private = m.recent_enough(external_id)
        fields = "created_at,public_metrics" + (",non_public_metrics,organic_metrics" if private else "")
        path, bucket = f"/2/tweets/{external_id}", "GET /2/tweets/:id"
        try:
            body = await self.get(ctx, path, bucket, {"tweet.fields": fields})
        except Rejected:  # X may refuse the private fields outright; ask again for the public ones only
            if not private:
                raise
            private, body = (
                False,
                await self.get(ctx, path, bucket, {"tweet.fields": "created_at,public_metrics"}),
            )
        post = body.get("data")
        if not isinstance(post, dict):
            raise failure_for_missing(path, body)
        values = m.numbers(post.get("public_metrics"))
        unavailable = [f for f in m.POST_PUBLIC if f not in values]
        note = ""
        if private:
            for block, names in (
                ("non_public_metrics", m.POST_NON_PUBLIC),
                ("organic_metrics", m.POST_ORGANIC),
            ):
                found = m.numbers(post.get(block), prefix=f"{block}.")
                values.update(found)
                unavailable += [f"{block}.{n}" for n in names if f"{block}.{n}" not in found]
        else:
            unavailable += ["non_public_metrics", "organic_metrics"]
            note = "X gives non-public and organic metrics only for the author's posts of the last 30 days."
        return MetricsSnapshot(
            values=values, fetched_at=datetime.now(UTC), unavailable=tuple(unavailable), note=note
        )

    async def list_past_posts(
        self, ctx: AccountContext, since: datetime | None, cursor: str | None = None
    ) -> PastPage:
        """The account's own posts (user timeline, at most the latest 3,200), 100 a page (ocma_x.history)."""
        return await history.past_page(self, ctx, since, cursor)

    async def public_account_metrics(self, ctx: AccountContext, handle: str) -> MetricsSnapshot:
        """Another account's public counts: GET /2/users/by/username/:username (public_metrics)."""
        return await history.public_account(self, ctx, handle)

    async def account_metrics(self, ctx: AccountContext) -> MetricsSnapshot:
        """Followers and counts from GET /2/users/me?user.fields=public_metrics."""
        body = await self.get(ctx, "/2/users/me", "GET /2/users/me", {"user.fields": "public_metrics"})
        user = body.get("data")
        if not isinstance(user, dict):
            raise failure_for_missing("GET /2/users/me", body)
        values = m.numbers(user.get("public_metrics"))
        missing = tuple(name for name in m.USER_PUBLIC if name not in values)
        return MetricsSnapshot(values=values, fetched_at=datetime.now(UTC), unavailable=missing)

    # ----- webhooks --------------------------------------------------------------------------------
    def webhook_challenge(self, params: Mapping[str, str]) -> tuple[int, dict[str, Any] | str] | None:
        """Answer X's CRC (`crc_token`) with the HMAC of the consumer secret (OCMA_X_CONSUMER_SECRET)."""
        token = params.get("crc_token")
        if token is None or not webhooks.is_crc_token(token):
            return None  # only X's token format is signed: never a caller's chosen payload
        return 200, dict(webhooks.crc_response(self.require_setting("CONSUMER_SECRET"), token))

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Check x-twitter-webhooks-signature against the consumer secret."""
        secret = self.setting("CONSUMER_SECRET")
        return bool(secret) and webhooks.verify_signature(secret or "", headers, body)

    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        """Account Activity events (posts, likes, follows, deletes, revokes)."""
        return webhooks.parse_events(body)


def failure_for_missing(what: str, body: Mapping[str, Any]) -> Exception:
    """A typed failure for a 200 without `data` (X then explains in `errors`)."""
    errors = body.get("errors")
    detail = (
        errors[0].get("detail") if isinstance(errors, list) and errors and isinstance(errors[0], dict) else ""
    )
    return Rejected(f"X answered {what} without data: {detail or body}")
