"""Discord through an incoming webhook: post to a channel (text and images), delete what was posted.

A channel's webhook URL (Server Settings -> Integrations -> Webhooks -> Copy Webhook URL) is all it takes:
`https://discord.com/api/webhooks/<id>/<token>`. The token in the URL is the secret; OCMA stores it encrypted
like any token and redacts it from every log line. API: https://discord.com/developers/docs/resources/webhook
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ocma_core import (
    AccountContext,
    AuthExpired,
    AuthKind,
    Capability,
    Limits,
    MediaRules,
    Platform,
    PostContent,
    Profile,
    PublishResult,
    Rejected,
    TextLimit,
    TokenSet,
    Transient,
    register_secret,
)

WEBHOOK_URL = re.compile(r"/api(?:/v\d+)?/webhooks/(?P<id>\d+)/(?P<token>[A-Za-z0-9_.-]+)/?$")
UNKNOWN_MESSAGE = "10008"


class DiscordPlatform(Platform):
    """A Discord channel's incoming webhook: messages up to 2000 characters with up to 10 attachments."""

    name = "discord"
    display_name = "Discord"
    auth_kind = AuthKind.TOKEN
    capabilities = frozenset({Capability.PUBLISH_TEXT, Capability.PUBLISH_IMAGES, Capability.DELETE})
    limits = Limits(
        text=TextLimit(max_length=2000),
        media=MediaRules(max_images=10, max_image_bytes=25 * 1024 * 1024),
    )
    default_api_base = "https://discord.com/api/v10"
    credential_fields = {
        "webhook_url": "The channel's webhook URL: Server Settings -> Integrations -> Webhooks -> Copy Webhook URL.",
    }
    # Discord's JSON error codes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
    error_codes = {
        "10015": AuthExpired,  # Unknown Webhook: deleted in Discord, connect the channel again
        "50027": AuthExpired,  # Invalid Webhook Token: the webhook's URL was reset
        "50035": Rejected,  # Invalid Form Body
        "40005": Rejected,  # Request entity too large
        "130000": Transient,  # API resource is currently overloaded
    }

    def webhook_url(self, ctx: AccountContext) -> str:
        """The account's webhook endpoint on the (overridable) API base."""
        return f"{self.api_base}/webhooks/{ctx.settings['webhook_id']}/{ctx.tokens.access_token}"

    async def connect_with_credentials(self, fields: Mapping[str, str]) -> TokenSet:
        """Read the id and token from the webhook URL, and check Discord knows them."""
        match = WEBHOOK_URL.search((fields.get("webhook_url") or "").strip())
        if match is None:
            raise Rejected(
                "That is not a Discord webhook URL (https://discord.com/api/webhooks/<id>/<token>)."
            )
        register_secret(match["token"])
        tokens = TokenSet(access_token=match["token"], extra={"webhook_id": match["id"]})
        await self.get_profile(AccountContext("new", match["id"], "", tokens, dict(tokens.extra)))
        return tokens

    async def get_profile(self, ctx: AccountContext) -> Profile:
        """GET the webhook: its id, its name and the channel it posts to."""
        response = await self.send("GET", self.webhook_url(ctx), ctx=ctx)
        self.raise_for_status(response, effect=False)
        body: dict[str, Any] = response.json()
        return Profile(
            external_id=str(body["id"]),
            handle=str(body.get("name") or body["id"]),
            display_name=str(body.get("name") or ""),
            extra={
                "webhook_id": str(body["id"]),
                "channel_id": str(body.get("channel_id") or ""),
                "guild_id": str(body.get("guild_id") or ""),
            },
        )

    async def publish(self, ctx: AccountContext, content: PostContent) -> PublishResult:
        """Execute the webhook with ?wait=true, so Discord answers with the message (and its id)."""
        payload: dict[str, Any] = {"content": content.text, "allowed_mentions": {"parse": []}}
        url = f"{self.webhook_url(ctx)}?wait=true"
        if content.media:
            payload["attachments"] = [
                {"id": n, "filename": item.path.name, "description": item.alt_text[:1024]}
                for n, item in enumerate(content.media)
            ]
            files = {
                f"files[{n}]": (item.path.name, item.read_bytes(), item.mime_type)
                for n, item in enumerate(content.media)
            }
            data = {"payload_json": json.dumps(payload)}
            response = await self.send("POST", url, ctx=ctx, data=data, files=files)
        else:
            response = await self.send("POST", url, ctx=ctx, json=payload)
        self.raise_for_status(response)
        message: dict[str, Any] = response.json()
        channel = message.get("channel_id")
        guild = ctx.settings.get("guild_id")
        link = (
            f"https://discord.com/channels/{guild}/{channel}/{message['id']}" if guild and channel else None
        )
        return PublishResult(external_id=str(message["id"]), url=link)

    async def delete(self, ctx: AccountContext, external_id: str) -> None:
        """Delete a message the webhook sent; one already gone counts as deleted."""
        response = await self.send("DELETE", f"{self.webhook_url(ctx)}/messages/{external_id}", ctx=ctx)
        if (
            response.status_code == 404
            and _code(response.json() if response.content else None) == UNKNOWN_MESSAGE
        ):
            return
        self.raise_for_status(response)


def _code(body: object) -> str | None:
    return str(body.get("code")) if isinstance(body, dict) and body.get("code") is not None else None
