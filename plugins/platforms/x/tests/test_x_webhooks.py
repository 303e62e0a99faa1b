"""CRC answer, signature verification and Account Activity parsing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from fake_x import CONSUMER_SECRET
from ocma_x import XPlatform

from ocma_core import ConfigError

ENV = {"OCMA_X_CONSUMER_SECRET": CONSUMER_SECRET, "OCMA_X_CLIENT_ID": "id"}


def _hmac(message: bytes) -> str:
    return (
        "sha256="
        + base64.b64encode(hmac.new(CONSUMER_SECRET.encode(), message, hashlib.sha256).digest()).decode()
    )


def test_crc_response_token() -> None:
    """GET ?crc_token=T is answered 200 with response_token = sha256=base64(HMAC-SHA256(secret, T))."""
    platform = XPlatform(env=ENV)
    answer = platform.webhook_challenge({"crc_token": "challenge_string"})
    assert answer == (200, {"response_token": _hmac(b"challenge_string")})
    assert answer[1]["response_token"] == "sha256=0mAsiyOV3LZQpnp13U+8gbLBfv0DzV+S1rZrBEPRRyo="  # type: ignore[index]
    assert platform.webhook_challenge({"other": "x"}) is None


def test_crc_needs_consumer_secret() -> None:
    """Without OCMA_X_CONSUMER_SECRET the CRC is a configuration error naming the variable."""
    with pytest.raises(ConfigError, match="OCMA_X_CONSUMER_SECRET"):
        XPlatform(env={}).webhook_challenge({"crc_token": "t"})


@pytest.mark.parametrize(
    ("headers", "body", "ok"),
    [
        ({"x-twitter-webhooks-signature": _hmac(b'{"a":1}')}, b'{"a":1}', True),
        ({"X-Twitter-Webhooks-Signature": _hmac(b'{"a":1}')}, b'{"a":1}', True),
        ({"x-twitter-webhooks-signature": _hmac(b'{"a":1}')}, b'{"a":2}', False),
        ({"x-twitter-webhooks-signature": "sha256=AAAA"}, b'{"a":1}', False),
        ({}, b'{"a":1}', False),
    ],
)
def test_signature(headers: dict[str, str], body: bytes, ok: bool) -> None:
    """The signature header must be the HMAC of the raw body."""
    assert XPlatform(env=ENV).verify_webhook(headers, body) is ok


def test_signature_without_secret_fails_closed() -> None:
    """No secret configured: nothing verifies."""
    assert XPlatform(env={}).verify_webhook({"x-twitter-webhooks-signature": _hmac(b"{}")}, b"{}") is False


def test_parse_account_activity() -> None:
    """Posts, replies, likes, follows, deletes and revokes become WebhookEvents."""
    user = {"id": 2244994945, "id_str": "2244994945", "screen_name": "ocma_fake"}
    payload = {
        "for_user_id": "2244994945",
        "tweet_create_events": [
            {"id_str": "1001", "text": "hello", "user": user, "favorite_count": 3, "retweet_count": 1},
            {"id_str": "1002", "text": "@ocma_fake hi", "in_reply_to_status_id_str": "1001", "user": user},
        ],
        "favorite_events": [
            {
                "id": "a7ba59",
                "created_at": "Mon Mar 26 16:33:26 +0000 2018",
                "timestamp_ms": 1522082006140,
                "favorited_status": {"id_str": "1001", "favorite_count": 4},
                "user": {"id_str": "42"},
            }
        ],
        "follow_events": [
            {
                "type": "follow",
                "created_timestamp": "1517588749178",
                "target": user,
                "source": {"id_str": "42"},
            }
        ],
        "tweet_delete_events": [
            {"status": {"id": "1001", "user_id": "2244994945"}, "timestamp_ms": "1432228155593"}
        ],
        "block_events": [{"type": "block", "source": user, "target": {"id_str": "7"}}],
    }
    events = XPlatform(env=ENV).parse_webhook(json.dumps(payload).encode())
    kinds = [(e.kind, e.external_post_id) for e in events]
    assert kinds == [
        ("post", "1001"),
        ("reply", "1001"),
        ("like", "1001"),
        ("follow", None),
        ("delete", "1001"),
        ("x:block_events", None),
    ]
    assert events[0].metrics == {"favorite_count": 3.0, "retweet_count": 1.0}
    assert events[2].metrics == {"favorite_count": 4.0} and events[2].raw["by_user_id"] == "42"
    assert all(e.external_account_id == "2244994945" for e in events)
    revoke = {
        "user_event": {
            "revoke": {
                "date_time": "2018-05-24T09:48:12+00:00",
                "target": {"app_id": "13090192"},
                "source": {"user_id": "63046977"},
            }
        }
    }
    [event] = XPlatform(env=ENV).parse_webhook(json.dumps(revoke).encode())
    assert (event.kind, event.external_account_id) == ("revoke", "63046977")
    assert XPlatform(env=ENV).parse_webhook(b"not json") == []
