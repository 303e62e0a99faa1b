"""ocma_core.platforms.graph: Meta's error envelope, usage headers, token answers and webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from ocma_core.errors import AuthExpired, RateLimited, Rejected, Transient, Unconfirmed
from ocma_core.platforms import graph

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def envelope(code: int, subcode: int | None = None, status: int = 400, **more: object) -> httpx.Response:
    error: dict[str, object] = {"message": f"msg {code}", "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(fbtrace_id="AbC", **more)
    return httpx.Response(status, json={"error": error}, request=httpx.Request("POST", "https://g/x"))


@pytest.mark.parametrize(("code", "subcode"), [(190, None), (190, 463), (190, 460), (190, 458), (102, None)])
def test_session_errors_need_reconnect(code: int, subcode: int | None) -> None:
    with pytest.raises(AuthExpired) as info:
        graph.raise_for_graph(envelope(code, subcode), "Facebook")
    assert f"code {code}" in info.value.message


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001, 80002])
def test_rate_codes_are_rate_limited_until_meta_says(code: int) -> None:
    buc = {"1234": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 7}]}
    response = envelope(code)
    response.headers["X-Business-Use-Case-Usage"] = json.dumps(buc)
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as info:
        graph.raise_for_graph(response, "Facebook")
    assert before + timedelta(minutes=7) <= info.value.retry_at <= datetime.now(UTC) + timedelta(minutes=7)


def test_rate_code_without_headers_blocks_for_the_default() -> None:
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as info:
        graph.raise_for_graph(envelope(4), "Facebook")
    assert info.value.retry_at >= before + timedelta(seconds=graph.DEFAULT_BLOCK_S)


def test_instagram_publish_limit_is_rate_limited() -> None:
    with pytest.raises(RateLimited):
        graph.raise_for_graph(envelope(9, 2207042, status=403), "Instagram")


def test_temporarily_blocked_waits_an_hour() -> None:
    before = datetime.now(UTC)
    with pytest.raises(RateLimited, match="temporarily blocked") as info:
        graph.raise_for_graph(envelope(368), "Facebook")
    assert info.value.retry_at >= before + timedelta(seconds=graph.TEMPORARY_BLOCK_S)


def test_invalid_parameter_is_rejected_with_metas_words() -> None:
    response = envelope(100, error_user_msg="The link is not valid.")
    with pytest.raises(Rejected) as info:
        graph.raise_for_graph(response, "Facebook")
    assert "msg 100" in info.value.message and "The link is not valid." in info.value.message
    assert info.value.code == "100"


def test_transient_errors_are_unconfirmed_for_creating_calls() -> None:
    with pytest.raises(Transient):
        graph.raise_for_graph(envelope(2, status=500), "Facebook")
    with pytest.raises(Unconfirmed):
        graph.raise_for_graph(envelope(2, status=500), "Facebook", creates=True)
    with pytest.raises(Transient):
        graph.raise_for_graph(envelope(1, is_transient=True), "Facebook")
    bare = httpx.Response(502, text="bad gateway", request=httpx.Request("GET", "https://g/x"))
    with pytest.raises(Transient):
        graph.raise_for_graph(bare, "Facebook")


def test_success_is_quiet_and_invalid_metric_is_recognised() -> None:
    graph.raise_for_graph(httpx.Response(200, json={"id": "1"}), "Facebook")
    invalid = envelope(100)
    assert not graph.is_invalid_metric(invalid)
    metric = httpx.Response(
        400, json={"error": {"code": 100, "message": "(#100) The value must be a valid insights metric"}}
    )
    assert graph.is_invalid_metric(metric)


def test_usage_headers_become_one_reading_per_scope() -> None:
    headers = {
        "X-App-Usage": json.dumps({"call_count": 28, "total_time": 25, "total_cputime": 25}),
        "X-Page-Usage": json.dumps({"call_count": 40, "total_time": 10, "total_cputime": 5}),
        "X-Business-Use-Case-Usage": json.dumps(
            {
                "111": [
                    {
                        "type": "pages",
                        "call_count": 60,
                        "total_cputime": 3,
                        "total_time": 9,
                        "estimated_time_to_regain_access": 0,
                    }
                ]
            }
        ),
    }
    account, app = graph.usage_limits(headers, "publish", NOW)  # sorted by scope
    assert (app.scope, app.limit, app.remaining) == ("app", 100, 95 - 28)
    assert (account.scope, account.remaining) == ("account", 95 - 60)
    assert account.reset_at == NOW + timedelta(seconds=graph.USAGE_RECHECK_S)


def test_usage_at_the_threshold_leaves_nothing_until_meta_says() -> None:
    headers = {
        "x-business-use-case-usage": json.dumps(
            {"111": [{"type": "pages", "call_count": 96, "estimated_time_to_regain_access": 12}]}
        )
    }
    (account,) = graph.usage_limits(headers, "publish", NOW)
    assert account.remaining == 0 and account.reset_at == NOW + timedelta(minutes=12)
    (app,) = graph.usage_limits({"x-app-usage": '{"call_count": 95}'}, "publish", NOW)
    assert app.remaining == 0 and app.reset_at == NOW + timedelta(seconds=graph.USAGE_RECHECK_S)
    assert graph.usage_limits({"x-app-usage": "not json"}, "publish", NOW) == []


def test_usage_at_95_percent_makes_the_budgets_wait() -> None:
    from ocma_core.engine.budgets import MemoryBudgets

    budgets = MemoryBudgets()
    keys, declared = ["facebook:acct:publish"], [None]
    assert budgets.try_acquire(keys, declared) == 0.0
    (reading,) = graph.usage_limits({"x-page-usage": '{"call_count": 95}'}, "publish")
    budgets.release(keys, declared, {keys[0]: reading}, None)
    assert budgets.try_acquire(keys, declared) > 60


def test_token_set_reads_expiry_and_permissions() -> None:
    tokens = graph.token_set(
        {"access_token": "T", "token_type": "bearer", "expires_in": 5184000}, NOW, page_id="9"
    )
    assert tokens.access_token == "T" and tokens.refresh_token is None
    assert tokens.expires_at == NOW + timedelta(days=60) and tokens.extra == {"page_id": "9"}


def test_appsecret_proof_is_hmac_of_the_token() -> None:
    expected = hmac.new(b"secret", b"token", hashlib.sha256).hexdigest()
    assert graph.appsecret_proof("secret", "token") == expected


def test_hub_challenge_echoes_only_for_the_right_token() -> None:
    ok = {"hub.mode": "subscribe", "hub.verify_token": "vt", "hub.challenge": "1158201444"}
    assert graph.hub_challenge(ok, "vt") == (200, "1158201444")
    assert graph.hub_challenge({**ok, "hub.verify_token": "other"}, "vt") == (403, "Forbidden")
    assert graph.hub_challenge({**ok, "hub.mode": "unsubscribe"}, "vt") == (403, "Forbidden")
    assert graph.hub_challenge(ok, None) == (403, "Forbidden")
    assert graph.hub_challenge({"challengeCode": "x"}, "vt") is None


def test_signature_is_checked_against_the_raw_body() -> None:
    body = b'{"object":"page","entry":[]}'
    sent = "sha256=" + hmac.new(b"app-secret", body, hashlib.sha256).hexdigest()
    assert graph.verify_signature("app-secret", {"X-Hub-Signature-256": sent}, body)
    assert not graph.verify_signature("app-secret", {"X-Hub-Signature-256": sent}, body + b" ")
    assert not graph.verify_signature("other", {"X-Hub-Signature-256": sent}, body)
    assert not graph.verify_signature("app-secret", {}, body)
    assert not graph.verify_signature(None, {"X-Hub-Signature-256": sent}, body)


def test_comments_and_mentions_become_events() -> None:
    page = {
        "object": "page",
        "entry": [
            {
                "id": "111",
                "time": 1700000000,
                "changes": [
                    {
                        "field": "feed",
                        "value": {
                            "item": "comment",
                            "verb": "add",
                            "post_id": "111_222",
                            "comment_id": "222_333",
                            "message": "Nice",
                        },
                    },
                    {"field": "mention", "value": {"item": "post", "verb": "add", "post_id": "444_555"}},
                ],
            }
        ],
    }
    comment, mention = graph.parse_webhook(json.dumps(page).encode())
    assert (comment.kind, comment.external_post_id, comment.external_account_id) == (
        "comment",
        "111_222",
        "111",
    )
    assert (mention.kind, mention.external_post_id) == ("mention", "444_555")
    instagram = {
        "object": "instagram",
        "entry": [
            {
                "id": "178",
                "time": 1,
                "changes": [
                    {"field": "comments", "value": {"id": "c1", "text": "hi", "media": {"id": "m1"}}}
                ],
            }
        ],
    }
    (ig,) = graph.parse_webhook(json.dumps(instagram).encode())
    assert (ig.kind, ig.external_post_id, ig.external_account_id) == ("comment", "m1", "178")
    threads = {
        "object": "threads",
        "entry": [
            {
                "id": "77",
                "time": 1,
                "changes": [
                    {
                        "field": "replies",
                        "value": {"id": "r1", "root_post": {"id": "t1"}, "replied_to": {"id": "t2"}},
                    }
                ],
            }
        ],
    }
    (th,) = graph.parse_webhook(json.dumps(threads).encode())
    assert (th.kind, th.external_post_id) == ("comment", "t1")
    assert graph.parse_webhook(b"not json") == []


def test_the_most_constraining_reading_per_scope_is_kept() -> None:
    from ocma_core.platforms import AccountContext, RateLimitInfo, TokenSet

    ctx = AccountContext(account_id="a", external_id="e", handle="h", tokens=TokenSet(access_token="t"))
    quota = RateLimitInfo(scope="account", bucket="publish", limit=100, remaining=3, reset_at=NOW)
    graph.record_readings(ctx, [quota])
    usage = graph.usage_limits(
        {"x-page-usage": '{"call_count": 10}', "x-app-usage": '{"call_count": 1}'}, "publish", NOW
    )
    graph.record_readings(ctx, usage)
    kept = {info.scope: info for info in ctx.settings["_rate_limits"]}
    assert len(ctx.settings["_rate_limits"]) == 2
    assert kept["account"] is quota and kept["app"].remaining == 94
    busy = graph.usage_limits({"x-page-usage": '{"call_count": 99}'}, "publish", NOW)
    graph.record_readings(ctx, busy)
    assert {i.scope: i for i in ctx.settings["_rate_limits"]}["account"].remaining == 0


def test_a_long_lived_token_is_its_own_refresh_token_due_after_a_day() -> None:
    tokens = graph.long_lived_tokens({"access_token": "IGAA1", "expires_in": 5_184_000}, NOW, user_id="7")
    assert tokens.refresh_token == "IGAA1" and tokens.extra["user_id"] == "7"
    assert tokens.expires_at == NOW + graph.REFRESHABLE_AFTER
    assert tokens.refresh_expires_at == NOW + timedelta(seconds=5_184_000)
    short = graph.long_lived_tokens({"access_token": "IGAA2", "expires_in": 3600}, NOW)
    assert short.expires_at == short.refresh_expires_at == NOW + timedelta(hours=1)


def test_a_page_token_reconnects_by_the_user_tokens_expiry() -> None:
    tokens = graph.page_token_set({"access_token": "user", "expires_in": 60}, "page", {"page_id": "1"}, NOW)
    assert tokens.access_token == "page" and tokens.expires_at == NOW + timedelta(seconds=60)
    assert tokens.extra == {"page_id": "1", "reconnect_by": (NOW + timedelta(seconds=60)).isoformat()}
