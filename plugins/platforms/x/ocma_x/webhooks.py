"""X webhooks (v2 Webhooks + Account Activity API): CRC answer, signature check, event parsing.

Per X's webhooks quickstart: the CRC is `GET <url>?crc_token=T`, answered with
`{"response_token": "sha256=" + base64(HMAC-SHA256(key=consumer secret, msg=T))}`; each delivery carries
`x-twitter-webhooks-signature: sha256=` + base64(HMAC-SHA256(consumer secret, raw body)).
Account Activity payloads carry `for_user_id` and one list per activity (`tweet_create_events`,
`favorite_events`, `follow_events`, `tweet_delete_events`, ...) holding v1.1-style objects.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from ocma_core import WebhookEvent, numeric_values

SIGNATURE_HEADER = "x-twitter-webhooks-signature"


def sign(secret: str, message: bytes) -> str:
    """`sha256=` + base64 HMAC-SHA256 of `message` keyed by `secret`."""
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode("ascii")


_CRC_TOKEN = re.compile(r"[A-Za-z0-9+/=_-]{1,255}")


def is_crc_token(token: str) -> bool:
    """True for a token of X's CRC form (base64 text). The CRC answer is the same HMAC that signs deliveries,
    so signing arbitrary text would let anyone forge one; base64 text can never be a JSON delivery."""
    return bool(_CRC_TOKEN.fullmatch(token))


def crc_response(secret: str, crc_token: str) -> dict[str, str]:
    """The JSON body that answers a CRC."""
    return {"response_token": sign(secret, crc_token.encode("utf-8"))}


def verify_signature(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    """True when the delivery's signature header matches the body."""
    lowered = {k.lower(): v for k, v in headers.items()}
    given = lowered.get(SIGNATURE_HEADER, "")
    return bool(given) and hmac.compare_digest(sign(secret, body), given)


def _tweet_id(tweet: Mapping[str, Any]) -> str | None:
    value = tweet.get("id_str") or tweet.get("id")
    return str(value) if value is not None else None


def _user_id(user: Any) -> str | None:
    if not isinstance(user, Mapping):
        return None
    value = user.get("id_str") or user.get("id")
    return str(value) if value is not None else None


def _counts(tweet: Mapping[str, Any]) -> dict[str, float]:
    names = ("favorite_count", "retweet_count", "reply_count", "quote_count")
    return numeric_values(tweet, names)


def _tweet_create(item: Mapping[str, Any], for_user: str | None) -> WebhookEvent:
    reply_to = item.get("in_reply_to_status_id_str")
    retweeted = item.get("retweeted_status")
    quoted = item.get("quoted_status")
    if isinstance(retweeted, Mapping):
        kind, post = "repost", _tweet_id(retweeted)
    elif isinstance(quoted, Mapping) and item.get("is_quote_status"):
        kind, post = "quote", _tweet_id(quoted)
    elif reply_to:
        kind, post = "reply", str(reply_to)
    else:
        kind, post = "post", _tweet_id(item)
    raw = {"for_user_id": for_user, "event": dict(item), "tweet_id": _tweet_id(item)}
    return WebhookEvent(
        kind=kind, external_post_id=post, external_account_id=for_user, metrics=_counts(item), raw=raw
    )


def _favorite(item: Mapping[str, Any], for_user: str | None) -> WebhookEvent:
    status = item.get("favorited_status")
    status = status if isinstance(status, Mapping) else {}
    raw = {"for_user_id": for_user, "event": dict(item), "by_user_id": _user_id(item.get("user"))}
    return WebhookEvent(
        kind="like",
        external_post_id=_tweet_id(status),
        external_account_id=for_user,
        metrics=_counts(status),
        raw=raw,
    )


def _follow(item: Mapping[str, Any], for_user: str | None) -> WebhookEvent:
    kind = "unfollow" if item.get("type") == "unfollow" else "follow"
    raw = {
        "for_user_id": for_user,
        "event": dict(item),
        "source_id": _user_id(item.get("source")),
        "target_id": _user_id(item.get("target")),
    }
    return WebhookEvent(kind=kind, external_account_id=for_user, raw=raw)


def _delete(item: Mapping[str, Any], for_user: str | None) -> WebhookEvent:
    status = item.get("status")
    status = status if isinstance(status, Mapping) else {}
    post = status.get("id")
    return WebhookEvent(
        kind="delete",
        external_post_id=str(post) if post is not None else None,
        external_account_id=for_user,
        raw={"for_user_id": for_user, "event": dict(item)},
    )


_PARSERS = {
    "tweet_create_events": _tweet_create,
    "favorite_events": _favorite,
    "follow_events": _follow,
    "tweet_delete_events": _delete,
}


def parse_events(body: bytes) -> list[WebhookEvent]:
    """Events of one Account Activity delivery (unknown activity lists are kept as kind `x:<name>`)."""
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return []
    if not isinstance(payload, dict):
        return []
    for_user = payload.get("for_user_id")
    for_user = str(for_user) if for_user is not None else None
    events: list[WebhookEvent] = []
    for key, value in payload.items():
        if key == "user_event" and isinstance(value, Mapping) and "revoke" in value:
            source = value["revoke"].get("source", {}) if isinstance(value["revoke"], Mapping) else {}
            user = (
                str(source.get("user_id")) if isinstance(source, Mapping) and source.get("user_id") else None
            )
            events.append(WebhookEvent(kind="revoke", external_account_id=user, raw=dict(value)))
            continue
        if not key.endswith("_events") or not isinstance(value, list):
            continue
        parser = _PARSERS.get(key)
        for item in value:
            if not isinstance(item, Mapping):
                continue
            if parser is None:
                events.append(
                    WebhookEvent(
                        kind=f"x:{key}",
                        external_account_id=for_user,
                        raw={"for_user_id": for_user, "event": dict(item)},
                    )
                )
            else:
                events.append(parser(item, for_user))
    return events
