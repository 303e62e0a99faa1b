"""Mastodon length counting, HTML-to-text and webhook signatures (no network)."""

from __future__ import annotations

import hashlib
import hmac
import json

from fake_mastodon_text import countable_length, render
from ocma_mastodon import webhooks
from ocma_mastodon.text import comparable, count_status, countable_text, status_text

LONG_URL = "https://example.com/" + "very-long-path-segment/" * 8


def test_urls_count_as_23_characters() -> None:
    assert count_status(LONG_URL) == 23
    assert count_status(f"See {LONG_URL}.") == 4 + 23 + 1
    assert count_status("http://a.io and https://b.io") == 23 + 5 + 23
    assert count_status("example.com has no scheme") == len("example.com has no scheme")
    assert count_status(LONG_URL, url_chars=30) == 30


def test_remote_mentions_count_only_the_local_part() -> None:
    assert count_status("hi @alice@very.long.example.social") == len("hi @alice")
    assert count_status("hi @alice") == len("hi @alice")
    assert countable_text("mail bob@example.com") == "mail bob@example.com"  # an address is no mention
    assert count_status("https://mastodon.social/@alice") == 23  # a profile URL is a URL


def test_graphemes_and_content_warning_share_the_budget() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
    assert count_status(family * 3) == 3
    assert count_status("body", spoiler_text="CW: food") == 4 + 8
    assert count_status("   ", spoiler_text="cw") == 2


def test_plugin_count_agrees_with_the_fake_server() -> None:
    samples = [f"Hello @bob@example.org, read {LONG_URL} #news", "é" * 40, "line\n\nnext https://x.io/a)"]
    for sample in samples:
        assert count_status(sample, "warn") == countable_length(sample, "warn", 23), sample


def test_status_html_back_to_text() -> None:
    source = f"Hello @alice@example.social!\nSecond line with {LONG_URL} and #Tag\n\nNew paragraph & <stuff>"
    html = render(source, "https://fake.example")
    assert "<br />" in html and "</p><p>" in html and "&amp; &lt;stuff&gt;" in html
    assert comparable(status_text(html)) == comparable(source)
    assert "@alice@" not in status_text(html)  # Mastodon shows only the local part


def test_webhook_signature_and_status_event() -> None:
    body = json.dumps(
        {
            "event": "status.created",
            "created_at": "2026-01-01T00:00:00.000Z",
            "object": {
                "id": "111",
                "account": {"id": "7"},
                "favourites_count": 2,
                "reblogs_count": 1,
                "replies_count": 0,
            },
        }
    ).encode()
    good = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert webhooks.verify("s3cret", {"X-Hub-Signature": good}, body)
    assert not webhooks.verify("s3cret", {"X-Hub-Signature": good}, body + b" ")
    assert not webhooks.verify("other", {"X-Hub-Signature": good}, body)
    assert not webhooks.verify(None, {"X-Hub-Signature": good}, body)
    (event,) = webhooks.parse(body)
    assert (event.kind, event.external_post_id, event.external_account_id) == ("status.created", "111", "7")
    assert event.metrics == {"favourites_count": 2, "reblogs_count": 1, "replies_count": 0}
    (account_event,) = webhooks.parse(
        json.dumps({"event": "account.created", "object": {"id": "9"}}).encode()
    )
    assert account_event.external_account_id == "9" and account_event.external_post_id is None
    assert webhooks.parse(b"not json") == []
