"""What the kit does not cover: images as multipart, Discord's error codes, the URL, and redaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_discord import FakeDiscord
from ocma_discord.platform import DiscordPlatform

from ocma_core import AccountContext, AuthExpired, MediaItem, PostContent, Rejected
from ocma_core.logs import RedactingFilter


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord() as fake:
        yield fake


def _connected(fake: FakeDiscord) -> tuple[DiscordPlatform, AccountContext]:
    platform = DiscordPlatform(env={"OCMA_DISCORD_API_BASE": fake.base_url})
    tokens = asyncio.run(platform.connect_with_credentials({"webhook_url": fake.webhook_url}))
    profile = asyncio.run(platform.get_profile(AccountContext("a", "", "", tokens, dict(tokens.extra))))
    ctx = AccountContext("a", profile.external_id, profile.handle, tokens, {**tokens.extra, **profile.extra})
    return platform, ctx


def test_connect_reads_the_webhook_url(fake: FakeDiscord) -> None:
    platform, ctx = _connected(fake)
    assert ctx.external_id == fake.webhook_id and ctx.handle == "OCMA announcements"
    with pytest.raises(Rejected, match="not a Discord webhook URL"):
        asyncio.run(platform.connect_with_credentials({"webhook_url": "https://example.com/hook"}))
    wrong = fake.webhook_url.rsplit("/", 1)[0] + "/not-the-token"
    with pytest.raises(AuthExpired, match="Invalid Webhook Token"):
        asyncio.run(platform.connect_with_credentials({"webhook_url": wrong}))


def test_images_go_as_multipart_with_payload_json(fake: FakeDiscord, tmp_path: Path) -> None:
    platform, ctx = _connected(fake)
    image = tmp_path / "chart.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    item = MediaItem(path=image, mime_type="image/png", size=72, sha256="x", alt_text="Weekly chart")
    result = asyncio.run(platform.publish(ctx, PostContent(text="This week", media=[item])))
    message = fake.messages[result.external_id]
    assert message["content"] == "This week"
    assert message["attachments"] == [{"id": "0", "filename": "chart.png", "size": 72}]
    assert (
        result.url
        == f"https://discord.com/channels/1170000000000000001/1180000000000000001/{result.external_id}"
    )


def test_discord_error_codes_decide_the_failure(fake: FakeDiscord) -> None:
    platform, ctx = _connected(fake)
    with pytest.raises(Rejected, match="Invalid Form Body"):
        asyncio.run(platform.publish(ctx, PostContent(text="x" * 2001)))
    fake.webhook_id = "1190000000000000999"  # the webhook was deleted in Discord
    with pytest.raises(AuthExpired, match="Unknown Webhook"):
        asyncio.run(platform.publish(ctx, PostContent(text="hello")))


def test_the_webhook_token_never_reaches_a_log_line(fake: FakeDiscord) -> None:
    platform, ctx = _connected(fake)
    line = f"HTTP Request: POST {platform.webhook_url(ctx)}?wait=true"
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, line, None, None)
    RedactingFilter().filter(record)
    assert fake.token not in record.getMessage() and fake.webhook_id in record.getMessage()
