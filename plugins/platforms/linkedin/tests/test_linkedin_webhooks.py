"""Webhook validation challenge, X-LI-Signature verification and notification parsing."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from fake_linkedin import CLIENT_SECRET
from ocma_linkedin import LinkedInPlatform

from ocma_core import ConfigError

PLATFORM = LinkedInPlatform(
    env={"OCMA_LINKEDIN_CLIENT_ID": "cid", "OCMA_LINKEDIN_CLIENT_SECRET": CLIENT_SECRET}
)
NOTIFICATION = {
    "type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS",
    "notifications": [
        {
            "notificationId": 1205,
            "organizationalEntity": "urn:li:organization:2414183",
            "action": "COMMENT",
            "sourcePost": "urn:li:share:7150000000000000001",
            "generatedActivity": "urn:li:comment:(urn:li:activity:1,2)",
            "lastModifiedAt": 1764100000000,
            "subscriber": "urn:li:person:782bbtaQ",
        },
        {
            "notificationId": 1206,
            "organizationalEntity": "urn:li:organization:2414183",
            "action": "SHARE_MENTION",
            "sourcePost": "urn:li:share:7150000000000000002",
            "lastModifiedAt": 1764100000500,
            "subscriber": "urn:li:person:782bbtaQ",
        },
        {
            "notificationId": 1207,
            "organizationalEntity": "urn:li:organization:2414183",
            "action": "LIKE",
            "sourcePost": "urn:li:ugcPost:7150000000000000003",
            "lastModifiedAt": 1764100000900,
            "subscriber": "urn:li:person:782bbtaQ",
        },
    ],
}


def test_challenge_answer() -> None:
    code = "890e4665-4dfe-4ab1-b689-ed553bceeed0"
    status, body = PLATFORM.webhook_challenge({"challengeCode": code, "applicationId": "12345"}) or (0, {})
    expected = hmac.new(CLIENT_SECRET.encode(), code.encode(), hashlib.sha256).hexdigest()
    assert status == 200 and body == {"challengeCode": code, "challengeResponse": expected}
    assert len(expected) == 64 and expected == expected.lower()
    assert PLATFORM.webhook_challenge({"hub.challenge": "x"}) is None


def test_challenge_needs_the_secret() -> None:
    with pytest.raises(ConfigError, match="OCMA_LINKEDIN_CLIENT_SECRET"):
        LinkedInPlatform(env={}).webhook_challenge({"challengeCode": "abc"})


def _signature(body: bytes, secret: str = CLIENT_SECRET) -> str:
    return hmac.new(secret.encode(), b"hmacsha256=" + body, hashlib.sha256).hexdigest()


def test_signature_is_over_prefixed_body() -> None:
    body = json.dumps(NOTIFICATION).encode()
    assert PLATFORM.verify_webhook({"X-LI-Signature": _signature(body)}, body)
    assert PLATFORM.verify_webhook({"x-li-signature": _signature(body).upper()}, body)
    assert PLATFORM.verify_webhook({"X-LI-Signature": "hmacsha256=" + _signature(body)}, body)


def test_bad_signatures_fail() -> None:
    body = json.dumps(NOTIFICATION).encode()
    plain = hmac.new(CLIENT_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert not PLATFORM.verify_webhook({"X-LI-Signature": plain}, body)  # LinkedIn signs "hmacsha256=" + body
    assert not PLATFORM.verify_webhook({"X-LI-Signature": _signature(body, "other")}, body)
    assert not PLATFORM.verify_webhook({"X-LI-Signature": _signature(body)}, body + b" ")
    assert not PLATFORM.verify_webhook({}, body)
    assert not LinkedInPlatform(env={}).verify_webhook({"X-LI-Signature": _signature(body)}, body)


def test_parse_organisation_social_actions() -> None:
    events = PLATFORM.parse_webhook(json.dumps(NOTIFICATION).encode())
    assert [e.kind for e in events] == ["comment", "mention", "like"]
    assert [e.external_post_id for e in events] == [
        "urn:li:share:7150000000000000001",
        "urn:li:share:7150000000000000002",
        "urn:li:ugcPost:7150000000000000003",
    ]
    assert {e.external_account_id for e in events} == {"urn:li:organization:2414183"}
    assert events[0].raw["notificationId"] == 1205


def test_parse_other_payloads() -> None:
    lead = {
        "type": "LEAD_ACTION",
        "leadAction": "CREATED",
        "leadGenFormResponse": "urn:li:leadGenFormResponse:1",
    }
    events = PLATFORM.parse_webhook(json.dumps(lead).encode())
    assert [e.kind for e in events] == ["linkedin.lead_action"] and events[0].raw == lead
    assert PLATFORM.parse_webhook(b"not json") == []
    assert PLATFORM.parse_webhook(b"[1, 2]") == []
