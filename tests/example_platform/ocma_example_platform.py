"""An example platform plugin for FakeSocial (ocma_core.testing.fake_platform).

It proves the conformance kit and drives the engine's tests and benchmarks. It is not a product
platform: it is the smallest complete plugin, for plugin authors to read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from ocma_core import (
    AccountContext,
    Capability,
    FoundPost,
    Limits,
    MediaRules,
    MetricsSnapshot,
    OAuthClient,
    PastPage,
    PastPost,
    Platform,
    PostContent,
    Profile,
    PublishResult,
    RateBudget,
    Rejected,
    TextLimit,
    hookimpl,
)


class FakeSocialPlatform(Platform):
    """FakeSocial: OAuth 2.0 + PKCE, 500-character posts, threads, metrics."""

    name = "fakesocial"
    display_name = "FakeSocial"
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
    )
    limits = Limits(text=TextLimit(max_length=500), media=MediaRules(max_images=4), max_thread_length=10)
    default_api_base = "http://127.0.0.1:9000"
    default_scopes = ("posts.read", "posts.write", "profile.read", "offline")
    rate_budgets = (RateBudget(bucket="publish", scope="account", limit=300, window_s=900),)

    def oauth_client(self, options: Mapping[str, str] | None = None) -> OAuthClient:
        """Client settings from OCMA_FAKESOCIAL_CLIENT_ID / _CLIENT_SECRET."""
        return OAuthClient(
            authorize_url=f"{self.auth_base}/oauth/authorize",
            token_url=f"{self.api_base}/oauth/token",
            client_id=self.require_setting("CLIENT_ID"),
            client_secret=self.setting("CLIENT_SECRET"),
            scopes=self.default_scopes,
        )

    def _auth(self, ctx: AccountContext) -> dict[str, str]:
        return {"Authorization": f"Bearer {ctx.tokens.access_token}"}

    async def get_profile(self, ctx: AccountContext) -> Profile:
        """GET /v1/me."""
        response = await self.send("GET", f"{self.api_base}/v1/me", headers=self._auth(ctx))
        self.raise_for_status(response)
        body = response.json()
        return Profile(external_id=body["id"], handle=body["username"], display_name=body.get("name", ""))

    async def publish(self, ctx: AccountContext, content: PostContent) -> PublishResult:
        """POST /v1/posts for each part, replying to the previous one for a thread."""
        return await self._publish_parts(ctx, content, None)

    async def continue_thread(
        self, ctx: AccountContext, content: PostContent, found: FoundPost
    ) -> PublishResult:
        """Post the parts after those found, the first of them replying to the last found."""
        return await self._publish_parts(ctx, content, found)

    async def _publish_parts(
        self, ctx: AccountContext, content: PostContent, found: FoundPost | None
    ) -> PublishResult:
        """Every part not in `found`, in order (`post_thread` keeps the thread whole); all ids in `part_ids`."""
        parts, urls = content.all_parts(), {} if found is None else {found.external_id: found.url}
        processing: list[str] = []

        async def post_part(index: int, before: list[str]) -> str:
            part = parts[index]
            media_ids = [await self._upload(ctx, item.read_bytes(), item.mime_type) for item in part.media]
            body: dict[str, object] = {"text": part.text}
            if media_ids:
                body["media_ids"] = media_ids
            if before:
                body["reply_to"] = before[-1]
            response = await self.send(
                "POST",
                f"{self.api_base}/v1/posts",
                ctx=ctx,
                bucket="publish",
                json=body,
                headers=self._auth(ctx),
            )
            self.raise_for_status(response)
            answer = response.json()
            urls[answer["id"]] = answer.get("url")
            # Accepted but still processing: nothing can reply to it yet, so the thread stops here and the
            # engine asks check_pending about this part, then has the rest posted (see docs/plugins.md).
            if answer.get("status") == "processing":
                if index < len(parts) - 1:
                    raise _Processing([*before, answer["id"]])
                processing.append(answer["id"])
            return str(answer["id"])

        try:
            ids = await self.post_thread(ctx, content, post_part, found)
        except _Processing as stop:
            return PublishResult(external_id=stop.ids[0], pending=True, part_ids=stop.ids)
        return PublishResult(external_id=ids[0], url=urls.get(ids[0]), pending=bool(processing), part_ids=ids)

    async def check_pending(self, ctx: AccountContext, external_id: str) -> PublishResult:
        """GET /v1/posts/{id}: processing (still pending), published (with its URL) or failed (Rejected)."""
        response = await self.send(
            "GET", f"{self.api_base}/v1/posts/{external_id}", ctx=ctx, bucket="read", headers=self._auth(ctx)
        )
        self.raise_for_status(response)
        answer = response.json()
        if answer["status"] == "processing":
            return PublishResult(external_id=external_id, pending=True)
        if answer["status"] == "failed":
            raise Rejected(f"Processing failed: {answer.get('error', 'no reason given')}")
        return PublishResult(external_id=external_id, url=answer.get("url"), part_ids=[external_id])

    async def _upload(self, ctx: AccountContext, data: bytes, mime: str) -> str:
        headers = {**self._auth(ctx), "Content-Type": mime}
        response = await self.send("POST", f"{self.api_base}/v1/media", content=data, headers=headers)
        self.raise_for_status(response)
        return str(response.json()["id"])

    async def find_published(
        self, ctx: AccountContext, content: PostContent, since: datetime
    ) -> FoundPost | None:
        """The account's posts since `since` with the same text; for a thread, each later part found while
        it replies to the part before (the engine posts the rest with continue_thread)."""
        response = await self.send(
            "GET", f"{self.api_base}/v1/posts", params={"since": since.timestamp()}, headers=self._auth(ctx)
        )
        self.raise_for_status(response)
        posts = response.json()["data"]
        ids: list[str] = []
        for part in content.all_parts():
            parent = ids[-1] if ids else None
            found = next((p for p in posts if p["text"] == part.text and p["reply_to"] == parent), None)
            if found is None:
                break
            ids.append(found["id"])
        return FoundPost(part_ids=ids, url=f"https://fakesocial.test/p/{ids[0]}") if ids else None

    async def list_past_posts(
        self, ctx: AccountContext, since: datetime | None, cursor: str | None = None
    ) -> PastPage:
        """GET /v1/posts?since= (one page: the fake serves every post at once)."""
        params = {"since": since.timestamp() if since else 0}
        response = await self.send("GET", f"{self.api_base}/v1/posts", params=params, headers=self._auth(ctx))
        self.raise_for_status(response)
        return PastPage(
            [
                PastPost(p["id"], datetime.fromtimestamp(p["created_at"], UTC), p["text"])
                for p in response.json()["data"]
                if not p["reply_to"]
            ]
        )

    async def delete(self, ctx: AccountContext, external_id: str) -> None:
        """DELETE /v1/posts/{id}; a post that is already gone (404) counts as deleted."""
        response = await self.send(
            "DELETE",
            f"{self.api_base}/v1/posts/{external_id}",
            ctx=ctx,
            bucket="delete",
            headers=self._auth(ctx),
        )
        if response.status_code != 404:
            self.raise_for_status(response)

    async def post_metrics(self, ctx: AccountContext, external_id: str) -> MetricsSnapshot:
        """GET /v1/posts/{id}/metrics."""
        url = f"{self.api_base}/v1/posts/{external_id}/metrics"
        response = await self.send("GET", url, headers=self._auth(ctx))
        self.raise_for_status(response)
        return MetricsSnapshot(values=_numbers(response.json()), fetched_at=datetime.now(UTC))

    async def account_metrics(self, ctx: AccountContext) -> MetricsSnapshot:
        """GET /v1/me/metrics."""
        response = await self.send("GET", f"{self.api_base}/v1/me/metrics", headers=self._auth(ctx))
        self.raise_for_status(response)
        return MetricsSnapshot(values=_numbers(response.json()), fetched_at=datetime.now(UTC))


def _numbers(
    body: dict[str, object], keep: Callable[[object], bool] = lambda v: isinstance(v, int | float)
) -> dict[str, float]:
    return {k: float(v) for k, v in body.items() if keep(v)}  # type: ignore[arg-type]


class _Processing(Exception):
    """A thread part is still processing: the parts up to it (its id last) are all that can be out now."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__(f"part {len(ids)} is processing")
        self.ids = ids


@hookimpl
def register_platforms(register: Callable[[type[Platform]], None]) -> None:
    """Register FakeSocial."""
    register(FakeSocialPlatform)
