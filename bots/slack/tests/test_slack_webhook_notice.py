"""A disabled outbound webhook is announced in Slack with what to do about it."""

from __future__ import annotations

from ocma_slack.notify import message_for


def test_webhook_disabled_notice_says_how_to_turn_it_back_on() -> None:
    payload = {"webhook_id": "wh_1", "url": "https://example.com/h", "reason": "HTTP 500 every time"}
    built = message_for(None, "webhook.disabled", payload)  # type: ignore[arg-type]
    assert built is not None
    text, blocks = built
    assert "https://example.com/h" in text and "HTTP 500" in text
    assert "ocma webhooks change wh_1 --enable" in str(blocks)
