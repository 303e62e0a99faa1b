"""Mastodon (any instance): OAuth with per-instance apps, statuses, media, polls, threads, metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from ocma_core import (
    AccountContext,
    AuthExpired,
    Capability,
    ConfigError,
    FoundPost,
    Limits,
    MediaItem,
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
    Rejected,
    TextLimit,
    TokenSet,
    Transient,
    WebhookEvent,
    numeric_values,
)
from ocma_mastodon import history, statuses, webhooks
from ocma_mastodon.apps import AppRegistry, data_dir, normalise_instance
from ocma_mastodon.errors import RECONNECT, raise_for_mastodon
from ocma_mastodon.text import comparable, count_text, status_text

SCOPES = ("read:accounts", "read:statuses", "write:statuses", "write:media")
_NOT_PROVIDED = ("impressions", "views", "clicks")


class MastodonPlatform(Platform):
    """Mastodon: instance-defined length (500 by default), 4 attachments, polls, threads, idempotent posts."""

    name = "mastodon"
    display_name = "Mastodon"
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
            Capability.WEBHOOKS,  # admin-only, instance-wide (see README)
            Capability.IDEMPOTENT_PUBLISH,  # Idempotency-Key: a retry within 1 h returns the same status
        }
    )
    limits = Limits(
        text=TextLimit(max_length=500, unit="characters", counter=count_text),
        media=MediaRules(
            max_images=4,
            max_videos=1,
            image_types=("image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/avif"),
            video_types=("video/mp4", "video/webm", "video/quicktime"),
            max_image_bytes=16 * 1024 * 1024,  # image_size_limit of a stock server
            max_video_bytes=103_809_024,  # video_size_limit of a stock server (99 MiB)
            max_alt_text=1500,  # media_attachments.description_limit
        ),
        max_thread_length=50,  # Mastodon has no thread limit; OCMA caps one publish (rate budget: 300/5 min)
    )
    default_api_base = "https://mastodon.social"
    default_scopes = SCOPES
    rate_budgets = (
        RateBudget(bucket="api", scope="account", limit=300, window_s=300),
        RateBudget(bucket="media", scope="account", limit=30, window_s=1800),
        RateBudget(bucket="delete", scope="account", limit=30, window_s=1800),
        RateBudget(bucket="api/ip", scope="app", limit=300, window_s=300),
    )
    max_concurrency = 8
    idempotency_window_s = 3600.0  # Mastodon keeps an Idempotency-Key for one hour
    credential_fields = {
        "instance": "Your server's address, e.g. mastodon.social.",
        "access_token": "An access token from Preferences -> Development -> New application "
        "(scopes read:accounts read:statuses write:statuses write:media).",
    }
    connect_options = {"instance": "The server to connect, e.g. https://mastodon.social."}
    media_poll_interval_s = 1.0
    media_poll_timeout_s = 120.0

    # ----- instances and apps --------------------------------------------------------------------
    def _instance(self, ctx: AccountContext) -> str:
        value = ctx.settings.get("instance") or ctx.tokens.extra.get("instance")
        return normalise_instance(str(value)) if value else self.api_base

    def host_of(self, settings: Mapping[str, Any]) -> str:
        """The account's instance: the engine caps calls per instance, so one slow server never stalls others."""
        value = settings.get("instance")
        return normalise_instance(str(value)) if value else self.api_base

    def registry(self) -> AppRegistry:
        """Where registered clients are cached (<OCMA_DATA_DIR>/mastodon-apps.json)."""
        return AppRegistry(data_dir(self._env) / "mastodon-apps.json", self.vault)

    def redirect_uris(self) -> list[str]:
        """OCMA_MASTODON_REDIRECT_URIS (space-separated), else {OCMA_PUBLIC_URL}/oauth/callback/mastodon."""
        configured = (self.setting("REDIRECT_URIS") or "").split()
        public = (self._env.get("OCMA_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/")
        return configured or [f"{public}/oauth/callback/{self.name}"]

    def _client(self, instance: str) -> tuple[str, str]:
        if instance == self.api_base and self.setting("CLIENT_ID"):
            return self.require_setting("CLIENT_ID"), self.require_setting("CLIENT_SECRET")
        app = self.registry().ensure(
            instance,
            self.redirect_uris(),
            " ".join(SCOPES),
            self._env.get("OCMA_PUBLIC_URL"),
            trusted_hosts=self.trusted_hosts(),
        )
        return str(app["client_id"]), str(app["client_secret"])

    def oauth_client(self, options: Mapping[str, str] | None = None) -> OAuthClient:
        """The OAuth client of options["instance"] (default: OCMA_MASTODON_API_BASE), registered on demand."""
        base = self._instance_base(options)
        client_id, client_secret = self._client(base)
        return OAuthClient(
            authorize_url=f"{base}/oauth/authorize",
            token_url=f"{base}/oauth/token",
            client_id=client_id,
            client_secret=client_secret,
            scopes=SCOPES,
            pkce=True,  # S256, Mastodon 4.3+; older servers ignore the parameters
        )

    def _instance_base(self, options: Mapping[str, str] | None) -> str:
        instance = (options or {}).get("instance")
        return normalise_instance(instance) if instance else self.api_base

    async def exchange_code(
        self,
        code: str,
        code_verifier: str | None,
        redirect_uri: str,
        options: Mapping[str, str] | None = None,
    ) -> TokenSet:
        """POST /oauth/token (client_secret_post, with the PKCE verifier); the token never expires."""
        base = self._instance_base(options)
        client = self.oauth_client({"instance": base})
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": client.client_id,
            "client_secret": client.client_secret or "",
            "redirect_uri": redirect_uri,
        }
        if code_verifier:
            form["code_verifier"] = code_verifier
        response = await self.send("POST", client.token_url, expect_effect=False, data=form)
        body = _json(response)
        if response.status_code == 401 or body.get("error") == "invalid_client":
            self.registry().forget(base)
            raise Rejected(
                f"{base} no longer knows OCMA's app registration; start connecting again.", status=401
            )
        if response.status_code == 400:
            message = (
                f"Mastodon refused the code: {body.get('error')} {body.get('error_description', '')}".strip()
            )
            raise AuthExpired(message, status=400, code=str(body.get("error") or "") or None)
        raise_for_mastodon(response, effect=False)
        scope = str(body.get("scope") or "")
        return TokenSet(
            access_token=str(body["access_token"]), scopes=tuple(scope.split()), extra={"instance": base}
        )

    async def refresh(self, ctx: AccountContext) -> TokenSet:
        """Mastodon has no refresh tokens and its tokens never expire: a refused token needs a reconnect."""
        raise AuthExpired(f"Cannot refresh a Mastodon token. {RECONNECT}")

    async def connect_with_credentials(self, fields: Mapping[str, str]) -> TokenSet:
        """Connect with {instance, access_token} (a token from Preferences -> Development), checked live."""
        token = str(fields.get("access_token", "")).strip()
        if not token:
            raise ConfigError("Paste the access token of an application from Preferences -> Development.")
        base = normalise_instance(str(fields.get("instance") or self.api_base))
        tokens = TokenSet(access_token=token, extra={"instance": base})
        probe = AccountContext(
            account_id="", external_id="", handle="", tokens=tokens, settings={"instance": base}
        )
        await self._get(probe, "/api/v1/accounts/verify_credentials")
        return tokens

    # ----- HTTP helpers --------------------------------------------------------------------------
    def _auth(self, ctx: AccountContext) -> dict[str, str]:
        return {"Authorization": f"Bearer {ctx.tokens.access_token}"}

    async def _get(self, ctx: AccountContext, path: str, params: dict[str, Any] | None = None) -> Any:
        response = await self.send(
            "GET",
            f"{self._instance(ctx)}{path}",
            ctx=ctx,
            bucket="api",
            params=params,
            headers=self._auth(ctx),
        )
        raise_for_mastodon(response, effect=False)
        return response.json()

    # ----- profile -------------------------------------------------------------------------------
    async def get_profile(self, ctx: AccountContext) -> Profile:
        """verify_credentials, plus the server's limits from GET /api/v2/instance (kept in settings)."""
        base = self._instance(ctx)
        account = await self._get(ctx, "/api/v1/accounts/verify_credentials")
        limits, domain = await self._instance_info(ctx, base)
        return Profile(
            external_id=str(account["id"]),
            host=urlsplit(base).netloc.lower(),  # account ids are per instance: the instance is part of who
            handle=f"{account['username']}@{domain}",
            display_name=str(account.get("display_name") or ""),
            url=account.get("url"),
            extra={
                "instance": base,
                "account_url": account.get("url"),
                "username": account["username"],
                **limits,
            },
        )

    async def _instance_info(self, ctx: AccountContext, base: str) -> tuple[dict[str, int], str]:
        response = await self.send("GET", f"{base}/api/v2/instance", ctx=ctx, bucket="api")
        if response.status_code != 200:
            return dict(statuses.DEFAULTS), urlsplit(base).netloc  # pre-4.0 server: stock limits
        body = _json(response)
        return statuses.instance_limits(body.get("configuration") or {}), str(
            body.get("domain") or urlsplit(base).netloc
        )

    # ----- content -------------------------------------------------------------------------------
    def validate(self, content: PostContent) -> list[Problem]:
        """Checks against a stock server (500 characters); publish re-checks with the account's own limits."""
        return self.validate_for(content, {"max_characters": _int(self.setting("MAX_CHARACTERS"))})

    def validate_for(self, content: PostContent, settings: Mapping[str, Any]) -> list[Problem]:
        """Checks with an account's instance limits (settings from get_profile)."""
        instance_checked = {"too_long", "too_many_images"}
        generic = [p for p in super().validate(content) if p.code not in instance_checked]
        return [*generic, *statuses.problems(content, settings)]

    def validate_for_account(self, content: PostContent, settings: Mapping[str, Any]) -> list[Problem]:
        """The core validates each target with its account's instance limits."""
        return self.validate_for(content, settings)

    async def publish(self, ctx: AccountContext, content: PostContent) -> PublishResult:
        """POST /api/v1/statuses per part (Idempotency-Key per part), chaining in_reply_to_id for threads."""
        problems = self.validate_for(content, ctx.settings)
        if problems:
            raise Rejected("; ".join(p.message for p in problems), code=problems[0].code)
        return await self._post_parts(ctx, content, None)

    async def continue_thread(
        self, ctx: AccountContext, content: PostContent, found: FoundPost
    ) -> PublishResult:
        """The parts after those found, the first replying to the last found (same per-part keys)."""
        return await self._post_parts(ctx, content, found)

    async def _post_parts(
        self, ctx: AccountContext, content: PostContent, found: FoundPost | None
    ) -> PublishResult:
        parts = content.all_parts()
        posted: dict[str, dict[str, Any]] = {}

        async def post_part(index: int, before: list[str]) -> str:
            part = parts[index]
            media_ids = [await self._upload(ctx, item) for item in part.media]
            body = statuses.status_body(
                part,
                content.options,
                media_ids=media_ids,
                reply_to=before[-1] if before else None,
                first=index == 0,
            )
            headers = {
                **self._auth(ctx),
                "Idempotency-Key": statuses.idempotency_key(content.idempotency_key, index),
            }
            response = await self.send(
                "POST",
                f"{self._instance(ctx)}/api/v1/statuses",
                ctx=ctx,
                bucket="api",
                json=body,
                headers=headers,
            )
            raise_for_mastodon(response, effect=True)
            status = response.json()
            posted[str(status["id"])] = status
            return str(status["id"])

        ids = await self.post_thread(ctx, content, post_part, found)
        first = posted.get(ids[0], {})
        return PublishResult(
            external_id=ids[0],
            url=first.get("url") or (found.url if found else None) or self.public_url(ctx, ids[0]),
            part_ids=ids,
            raw={"uri": first.get("uri")} if first else dict(found.raw if found else {}),
        )

    async def _upload(self, ctx: AccountContext, item: MediaItem) -> str:
        """POST /api/v2/media (file + description); poll GET /api/v1/media/:id while it is processing."""
        files = {"file": (item.path.name, item.read_bytes(), item.mime_type)}
        data = {"description": item.alt_text} if item.alt_text else {}
        # An orphaned attachment is harmless, so a timeout here is Transient, not Unconfirmed.
        response = await self.send(
            "POST",
            f"{self._instance(ctx)}/api/v2/media",
            ctx=ctx,
            bucket="media",
            expect_effect=False,
            files=files,
            data=data,
            headers=self._auth(ctx),
        )
        raise_for_mastodon(response, effect=False)
        media = response.json()
        waited, delay = 0.0, self.media_poll_interval_s
        while media.get("url") is None:
            if waited >= self.media_poll_timeout_s:
                raise Transient(f"Mastodon is still processing {item.path.name} after {waited:.0f} s.")
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 1.5, 5.0)
            poll = await self.send(
                "GET",
                f"{self._instance(ctx)}/api/v1/media/{media['id']}",
                ctx=ctx,
                bucket="api",
                headers=self._auth(ctx),
            )
            raise_for_mastodon(poll, effect=False)
            if poll.status_code == 200:
                media = poll.json()
        return str(media["id"])

    # ----- after publishing ----------------------------------------------------------------------
    async def find_published(
        self, ctx: AccountContext, content: PostContent, since: datetime
    ) -> FoundPost | None:
        """The account's statuses (newest first) back to `since`: the one with this text, and each later
        part found replying to the one before."""
        account_id = ctx.external_id or str(
            (await self._get(ctx, "/api/v1/accounts/verify_credentials"))["id"]
        )
        seen: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 40, "exclude_reblogs": "true"}
        for _ in range(10):
            page = await self._get(ctx, f"/api/v1/accounts/{account_id}/statuses", params)
            if not page:
                break
            seen.extend(page)
            if _time(page[-1].get("created_at")) < since:
                break
            params["max_id"] = page[-1]["id"]
        wanted = [comparable(part.text) for part in content.all_parts()]
        for status in seen:
            if (
                _time(status.get("created_at")) >= since
                and not status.get("in_reply_to_id")
                and (comparable(status_text(str(status.get("content") or ""))) == wanted[0])
            ):
                ids = [str(status["id"])]
                for text in wanted[1:]:
                    reply = next(
                        (
                            s
                            for s in seen
                            if s.get("in_reply_to_id") == ids[-1]
                            and comparable(status_text(str(s.get("content") or ""))) == text
                        ),
                        None,
                    )
                    if reply is None:
                        break
                    ids.append(str(reply["id"]))
                return FoundPost(
                    part_ids=ids, url=status.get("url"), raw={"uri": status.get("uri"), "parts": len(wanted)}
                )
        return None

    async def delete(self, ctx: AccountContext, external_id: str) -> None:
        """DELETE /api/v1/statuses/:id; a status already gone (404 "Record not found") counts as deleted."""
        response = await self.send(
            "DELETE",
            f"{self._instance(ctx)}/api/v1/statuses/{external_id}",
            ctx=ctx,
            bucket="delete",
            headers=self._auth(ctx),
        )
        if response.status_code != 404:
            raise_for_mastodon(response, effect=True)

    async def post_metrics(self, ctx: AccountContext, external_id: str) -> MetricsSnapshot:
        """GET /api/v1/statuses/:id: favourites, reblogs, replies (and quotes, 4.5+); no impressions exist."""
        status = await self._get(ctx, f"/api/v1/statuses/{external_id}")
        keys = ("favourites_count", "reblogs_count", "replies_count", "quotes_count")
        values = numeric_values(status, keys)
        return MetricsSnapshot(
            values=values,
            fetched_at=datetime.now(UTC),
            unavailable=_NOT_PROVIDED,
            note="Mastodon does not report impressions or views.",
        )

    async def list_past_posts(
        self, ctx: AccountContext, since: datetime | None, cursor: str | None = None
    ) -> PastPage:
        """The account's own statuses, newest first, 40 a page (ocma_mastodon.history)."""
        account_id = ctx.external_id or str(
            (await self._get(ctx, "/api/v1/accounts/verify_credentials"))["id"]
        )
        return await history.past_page(lambda p, q: self._get(ctx, p, q), account_id, since, cursor)

    async def public_account_metrics(self, ctx: AccountContext, handle: str) -> MetricsSnapshot:
        """Another account's public counts: GET /api/v1/accounts/lookup?acct=handle."""
        return await history.public_account(lambda p, q: self._get(ctx, p, q), handle)

    async def account_metrics(self, ctx: AccountContext) -> MetricsSnapshot:
        """verify_credentials: followers, following and statuses counts."""
        account = await self._get(ctx, "/api/v1/accounts/verify_credentials")
        keys = ("followers_count", "following_count", "statuses_count")
        values = numeric_values(account, keys)
        return MetricsSnapshot(values=values, fetched_at=datetime.now(UTC), unavailable=("impressions",))

    # ----- webhooks (admin-only) -----------------------------------------------------------------
    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """X-Hub-Signature (sha256=hex HMAC of the body) with OCMA_MASTODON_WEBHOOK_SECRET."""
        return webhooks.verify(self.setting("WEBHOOK_SECRET"), headers, body)

    def parse_webhook(self, body: bytes) -> list[WebhookEvent]:
        """status.created / status.updated (and other admin events) from a delivery."""
        return webhooks.parse(body)

    def public_url(self, ctx: AccountContext, external_id: str) -> str | None:
        """<account url>/<status id>, e.g. https://mastodon.social/@alice/1234."""
        account_url = ctx.settings.get("account_url")
        return f"{str(account_url).rstrip('/')}/{external_id}" if account_url else None


def _json(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _time(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None
