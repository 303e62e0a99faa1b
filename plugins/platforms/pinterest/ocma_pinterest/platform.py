"""The Pinterest (API v5) platform: OAuth with Basic client auth, boards, pins (images, carousels, video), metrics."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

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
    RateLimitInfo,
    TextLimit,
    TokenSet,
    Transient,
    parse_reset,
)
from ocma_pinterest import auth, boards, metrics, pins, video
from ocma_pinterest.validation import account_problems, pin_problems

if TYPE_CHECKING:
    import httpx

_DAY, _SECOND = 86400.0, 1.0
CATEGORIES = ("org_write", "org_read", "org_analytics")


def budgets(tier: str) -> tuple[RateBudget, ...]:
    """Declared budgets per rate-limit category: trial apps 1,000 calls a day per category (per app and so per
    account); standard apps 100 calls a second per user. The first account budget is the publish one and the
    one named "pending" the check_pending one (the engine picks them so); headers refine them as they come."""
    if tier == "standard":
        per = [(c, "account", 100, _SECOND) for c in CATEGORIES]
    else:
        per = [(c, scope, 1000, _DAY) for c in CATEGORIES for scope in ("account", "app")]
    found = [RateBudget(name, scope, limit, span) for name, scope, limit, span in per]
    pending = [
        RateBudget("org_read (pending: GET /media/{id})", b.scope, b.limit, b.window_s)
        for b in found
        if b.bucket == "org_read"
    ]
    return (*found, *pending)


class PinterestPlatform(Platform):
    """Pinterest through API v5 with a user's OAuth token."""

    name = "pinterest"
    display_name = "Pinterest"
    capabilities = frozenset(
        {
            Capability.PUBLISH_IMAGES,
            Capability.PUBLISH_VIDEO,
            Capability.DELETE,
            Capability.FIND_PUBLISHED,
            Capability.POST_METRICS,
            Capability.ACCOUNT_METRICS,
        }
    )
    limits = Limits(
        text=TextLimit(max_length=800, unit="characters (the pin's description)"),
        media=MediaRules(
            max_images=5,
            max_videos=1,
            image_types=pins.BASE64_TYPES,
            video_types=("video/mp4", "video/quicktime", "video/x-m4v"),
            max_image_bytes=20 * 1024 * 1024,
            max_video_bytes=2 * 1024 * 1024 * 1024,
            requires_media=True,
            max_alt_text=500,
        ),
    )
    default_api_base = "https://api.pinterest.com/v5"
    default_auth_base = "https://www.pinterest.com"
    default_scopes = auth.SCOPES
    connect_options = {"board": "the account's default board for new pins (its id or name)"}
    account_settings = {
        "default_board": "the board a pin goes to when its post names none (the board's id or name)",
        "default_board_section": "a section of the default board for those pins (id or name; optional)",
    }
    rate_budgets = budgets("trial")
    max_concurrency = 8

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env)
        tier = (self.setting("ACCESS_TIER") or "trial").lower()
        self.rate_budgets = budgets(tier)  # type: ignore[misc]

    # ----- HTTP ------------------------------------------------------------------------------------
    def auth_header(self, ctx: AccountContext) -> dict[str, str]:
        """The user's bearer token."""
        return {"Authorization": f"Bearer {ctx.tokens.access_token}"}

    async def call(
        self, ctx: AccountContext, method: str, path: str, category: str, **kwargs: Any
    ) -> dict[str, Any]:
        """Call an API path as the account; the JSON object answered, or a typed failure."""
        response = await self.send(
            method,
            f"{self.api_base}{path}",
            ctx=ctx,
            bucket=category,
            headers=self.auth_header(ctx),
            **kwargs,
        )
        self.raise_for_status(response)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise Transient(
                f"Pinterest answered {method} {path} with no JSON object ({response.status_code})."
            )
        return body

    def read_rate_limit(self, response: httpx.Response, bucket: str) -> RateLimitInfo | None:
        """x-ratelimit-limit / -remaining / -reset of the call's category (the first number of each)."""
        headers = response.headers
        if "x-ratelimit-remaining" not in headers:
            return None

        def first(name: str) -> int | None:
            found = re.match(r"\s*(\d+)", headers.get(name) or "")
            return int(found.group(1)) if found else None

        reset = first("x-ratelimit-reset")
        return RateLimitInfo(
            scope="account",
            bucket=bucket,
            limit=first("x-ratelimit-limit"),
            remaining=first("x-ratelimit-remaining"),
            reset_at=parse_reset(str(reset)) if reset is not None else None,
        )

    # ----- authorisation ---------------------------------------------------------------------------
    def oauth_client(self, options: Mapping[str, str] | None = None) -> OAuthClient:
        """OCMA_PINTEREST_CLIENT_ID and OCMA_PINTEREST_CLIENT_SECRET (the app's id and secret key)."""
        return auth.oauth_client(self)

    async def exchange_code(
        self,
        code: str,
        code_verifier: str | None,
        redirect_uri: str,
        options: Mapping[str, str] | None = None,
    ) -> TokenSet:
        """The code for tokens (Basic client auth), then the account's boards and its default board."""
        tokens = await super().exchange_code(code, code_verifier, redirect_uri, options)
        ctx = AccountContext(account_id="", external_id="", handle="", tokens=tokens)
        listed = await boards.list_boards(self, ctx)
        tokens.extra.update(boards.settings_for(listed, (options or {}).get("board", "")))
        return tokens

    async def refresh(self, ctx: AccountContext) -> TokenSet:
        """Continuous refresh (OCMA_PINTEREST_CONTINUOUS_REFRESH=true for apps made before 2025-09-25)."""
        return await auth.refresh(self, ctx)

    async def revoke(self, ctx: AccountContext) -> None:
        """Revoke the account's tokens (on disconnect)."""
        await auth.revoke(self, ctx)

    async def get_profile(self, ctx: AccountContext) -> Profile:
        """GET /user_account."""
        user = await self.call(ctx, "GET", "/user_account", "org_read")
        username = str(user.get("username") or "")
        if not user.get("id"):
            raise Transient("Pinterest answered /user_account without an id.")
        return Profile(
            external_id=str(user["id"]),
            handle=username,
            display_name=str(user.get("business_name") or username),
            url=f"https://www.pinterest.com/{username}/" if username else None,
            extra={"account_type": str(user.get("account_type") or "")},
        )

    # ----- content ---------------------------------------------------------------------------------
    def validate(self, content: PostContent) -> list[Problem]:
        """The generic limits plus the pin's title, link, alt text, board and carousel rules."""
        return [*super().validate(content), *pin_problems(content)]

    def validate_for_account(self, content: PostContent, settings: Mapping[str, Any]) -> list[Problem]:
        """As validate, and a board must be known (the post's board_id or the account's default board)."""
        return [*self.validate(content), *account_problems(content, settings)]

    def destination(self, content: PostContent, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The board and section the pin goes to (the post's board_id, else the account's default board)."""
        board, section = pins.board_for(content, settings) or (None, None)
        return {"board_id": board, "board_section_id": section}

    async def publish(self, ctx: AccountContext, content: PostContent) -> PublishResult:
        """Create the pin; a video is uploaded first and the pin waits (pending) until Pinterest processed it."""
        videos = [m for m in content.media if m.is_video]
        if not videos:
            images = [m for m in content.media if not m.is_video]
            return self.result(
                await pins.create(self, ctx, pins.pin_body(ctx, content, pins.image_source(images)))
            )
        pins.board_of(ctx, content)  # no board: refuse before uploading anything
        media_id = await video.upload(self, ctx, videos[0])
        # Pinterest processes every upload first; the engine asks GET /media/{id} from 5 s on. (Not asking here
        # also keeps the publish call's last rate-limit reading the org_write one of POST /media.)
        return PublishResult(external_id=video.handle(media_id), pending=True, raw={"status": "registered"})

    async def check_pending(self, ctx: AccountContext, external_id: str) -> PublishResult:
        """A pin id is out; a video handle stays pending (only check_pending_content can create its pin)."""
        media_id = video.media_id_of(external_id)
        if media_id is None:
            return PublishResult(external_id=external_id, url=self.pin_url(external_id))
        state = await video.status(self, ctx, media_id)
        if state == "failed":
            raise video.refuse_failed(media_id)
        return PublishResult(external_id=external_id, pending=True, raw={"status": state})

    async def check_pending_content(
        self, ctx: AccountContext, external_id: str, content: PostContent
    ) -> PublishResult:
        """GET /media/{id}; once `succeeded`, the pin (looked up first, so a lost answer never makes two)."""
        media_id = video.media_id_of(external_id)
        if media_id is None:
            return await self.check_pending(ctx, external_id)
        state = await video.status(self, ctx, media_id)
        if state == "failed":
            raise video.refuse_failed(media_id)
        if state != "succeeded":
            return PublishResult(external_id=external_id, pending=True, raw={"status": state})
        found = await pins.find(self, ctx, content, datetime.now(UTC) - timedelta(days=2))
        return found.as_result() if found else await self.pin_video(ctx, content, media_id)

    async def pin_video(self, ctx: AccountContext, content: PostContent, media_id: str) -> PublishResult:
        """Create the pin of a processed video."""
        body = pins.pin_body(ctx, content, pins.video_source(media_id, content))
        return self.result(await pins.create(self, ctx, body))

    def result(self, pin: dict[str, Any]) -> PublishResult:
        """The publish result of a created pin."""
        pin_id = str(pin["id"])
        return PublishResult(external_id=pin_id, url=self.pin_url(pin_id), raw=pin)

    async def find_published(
        self, ctx: AccountContext, content: PostContent, since: datetime
    ) -> FoundPost | None:
        """The account's newest pins (GET /pins) searched for this board, description and title."""
        return await pins.find(self, ctx, content, since)

    async def delete(self, ctx: AccountContext, external_id: str) -> None:
        """DELETE /pins/{id}."""
        await pins.delete(self, ctx, external_id)

    def pin_url(self, pin_id: str) -> str:
        """https://www.pinterest.com/pin/<id>/."""
        return f"https://www.pinterest.com/pin/{pin_id}/"

    def public_url(self, ctx: AccountContext, external_id: str) -> str | None:
        """The pin's page (none while a video is still processing)."""
        return None if video.media_id_of(external_id) else self.pin_url(external_id)

    # ----- boards and metrics ----------------------------------------------------------------------
    async def list_boards(self, ctx: AccountContext) -> list[dict[str, Any]]:
        """The account's boards with their sections: [{id, name, privacy, sections: [{id, name}]}]."""
        return await boards.list_boards(self, ctx, with_sections=True)

    async def apply_account_settings(self, ctx: AccountContext, values: Mapping[str, str]) -> dict[str, Any]:
        """The default board (and section), checked against the account's boards as Pinterest lists them now;
        only the chosen board's sections are read (one call per change, not one per board)."""
        wanted = dict(values)
        listed = await boards.list_boards(self, ctx)
        chosen = (
            boards.choose(listed, wanted.get("default_board", "")) if wanted.get("default_board") else None
        )
        if chosen is not None and wanted.get("default_board_section"):
            chosen["sections"] = await boards.sections_of(self, ctx, chosen["id"])
        return boards.resolve(listed, wanted)

    def account_settings_view(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The default board and the boards there are."""
        return boards.view(settings)

    async def post_metrics(self, ctx: AccountContext, external_id: str) -> MetricsSnapshot:
        """Pin analytics (impressions, saves, pin and outbound clicks) and lifetime pin_metrics."""
        return await metrics.pin(self, ctx, external_id)

    async def account_metrics(self, ctx: AccountContext) -> MetricsSnapshot:
        """Followers and counts, and 30 days of account analytics."""
        return await metrics.account(self, ctx)
