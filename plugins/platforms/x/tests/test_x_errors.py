"""Rate-limit headers and X's error bodies mapped onto OCMA's typed failures."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fake_x import FakeX
from ocma_x import XPlatform
from ocma_x.errors import failure_for, problem_kind, read_rate_limits

from ocma_core import (
    AccountContext,
    AuthExpired,
    PlatformError,
    PostContent,
    RateLimited,
    Rejected,
    Transient,
    Unconfirmed,
)
from ocma_core.testing.conformance import run


def response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    """An httpx response as X would send it."""
    return httpx.Response(
        status, json=body, headers=headers or {}, request=httpx.Request("POST", "https://x")
    )


def test_reads_all_windows() -> None:
    """x-rate-limit-* (account), x-user-limit-24hour-* (account) and x-app-limit-24hour-* (app)."""
    reset = int(time.time()) + 600
    headers = {
        "x-rate-limit-limit": "100",
        "x-rate-limit-remaining": "99",
        "x-rate-limit-reset": str(reset),
        "x-user-limit-24hour-limit": "2400",
        "x-user-limit-24hour-remaining": "2399",
        "x-user-limit-24hour-reset": str(reset + 80000),
        "x-app-limit-24hour-limit": "10000",
        "x-app-limit-24hour-remaining": "9000",
        "x-app-limit-24hour-reset": str(reset + 1000),
    }
    infos = read_rate_limits(response(201, {}, headers), "POST /2/tweets")
    summary = [(i.scope, i.bucket, i.limit, i.remaining) for i in infos]
    assert summary == [
        ("account", "POST /2/tweets", 100, 99),
        ("account", "POST /2/tweets (24h)", 2400, 2399),
        ("app", "POST /2/tweets (24h)", 10000, 9000),
    ]
    assert infos[0].reset_at == datetime.fromtimestamp(reset, UTC)


def test_429_waits_for_the_exhausted_window() -> None:
    """With the 15-minute window fine but the app's day used up, retry at the 24-hour reset."""
    day_reset = int(time.time()) + 50_000
    headers = {
        "x-rate-limit-remaining": "80",
        "x-rate-limit-reset": str(int(time.time()) + 300),
        "x-app-limit-24hour-remaining": "0",
        "x-app-limit-24hour-reset": str(day_reset),
    }
    failure = failure_for(
        response(
            429,
            {
                "title": "Too Many Requests",
                "type": "about:blank",
                "status": 429,
                "detail": "Too Many Requests",
            },
            headers,
        ),
        creates=True,
    )
    assert isinstance(failure, RateLimited)
    assert failure.retry_at == datetime.fromtimestamp(day_reset, UTC)


USAGE_CAP = {
    "account_id": "1",
    "product_name": "standard-basic",
    "title": "UsageCapExceeded",
    "period": "Monthly",
    "scope": "Product",
    "detail": "Usage cap exceeded: Monthly product cap",
    "type": "https://api.twitter.com/2/problems/usage-capped",
}


@pytest.mark.parametrize(
    ("status", "body", "creates", "expected", "code"),
    [
        (
            403,
            {
                "detail": "You are not allowed to create a Tweet with duplicate content.",
                "type": "about:blank",
                "title": "Forbidden",
                "status": 403,
            },
            True,
            Rejected,
            "duplicate",
        ),
        (429, USAGE_CAP, True, Rejected, "usage-capped"),
        (429, {**USAGE_CAP, "period": "Daily", "scope": "Account"}, True, RateLimited, "usage-capped"),
        (
            401,
            {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
            False,
            AuthExpired,
            None,
        ),
        (
            503,
            {"title": "Service Unavailable", "type": "about:blank", "status": 503},
            True,
            Unconfirmed,
            None,
        ),
        (503, {"title": "Service Unavailable", "type": "about:blank", "status": 503}, False, Transient, None),
        (
            400,
            {
                "type": "https://api.x.com/2/problems/invalid-request",
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
            },
            True,
            Rejected,
            "invalid-request",
        ),
        (403, {"errors": [{"code": 187, "message": "Status is a duplicate."}]}, False, Rejected, None),
        (429, {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}, False, RateLimited, None),
        (
            403,
            {
                "type": "https://api.x.com/2/problems/client-forbidden",
                "title": "Client Forbidden",
                "detail": "App not enrolled",
            },
            False,
            Rejected,
            "client-forbidden",
        ),
    ],
)
def test_error_mapping(
    status: int, body: dict[str, Any], creates: bool, expected: type[PlatformError], code: str | None
) -> None:
    """Each documented shape maps onto the right failure, with X's wording kept."""
    failure = failure_for(response(status, body), creates=creates)
    assert type(failure) is expected
    assert failure.status == status
    if code is not None:
        assert failure.code == code
    text = str(body.get("detail") or body.get("title") or body["errors"][0]["message"])
    assert text in failure.message


def test_problem_kind() -> None:
    """Both hosts' problem URLs give the same kind."""
    assert problem_kind("https://api.x.com/2/problems/usage-capped") == "usage-capped"
    assert problem_kind("https://api.twitter.com/2/problems/usage-capped") == "usage-capped"
    assert problem_kind("about:blank") == "about:blank"


def test_real_rate_window_and_recorded_headers(
    x_platform: XPlatform, x_ctx: AccountContext, fake_x: FakeX
) -> None:
    """The fake's 15-minute window runs out: RateLimited at X's reset; every window lands in ctx.settings."""
    fake_x.limits["POST /2/tweets"] = 2
    run(x_platform.publish(x_ctx, PostContent(text="one")))
    run(x_platform.publish(x_ctx, PostContent(text="two")))
    with pytest.raises(RateLimited) as info:
        run(x_platform.publish(x_ctx, PostContent(text="three")))
    assert (
        datetime.now(UTC) + timedelta(minutes=14)
        < info.value.retry_at
        <= datetime.now(UTC) + timedelta(minutes=16)
    )
    infos = [i for i in x_ctx.settings["_rate_limits"] if i.bucket.startswith("POST /2/tweets")]
    assert {(i.scope, i.bucket) for i in infos} == {
        ("account", "POST /2/tweets"),
        ("account", "POST /2/tweets (24h)"),
        ("app", "POST /2/tweets (24h)"),
    }
    assert [i.remaining for i in infos if i.bucket == "POST /2/tweets"][:2] == [1, 0]


@pytest.mark.parametrize(("kind", "expected"), [("usage_capped", Rejected), ("app_daily_limit", RateLimited)])
def test_caps_through_the_fake(
    x_platform: XPlatform, x_ctx: AccountContext, fake_x: FakeX, kind: str, expected: type[PlatformError]
) -> None:
    """A monthly product cap needs the operator (Rejected); the app's daily limit is waited out."""
    fake_x.fail_next(kind, retry_after_s=3600)
    with pytest.raises(expected) as info:
        run(x_platform.publish(x_ctx, PostContent(text=f"capped {kind}")))
    if isinstance(info.value, RateLimited):
        assert info.value.retry_at > datetime.now(UTC) + timedelta(minutes=59)


def test_used_refresh_token_is_auth_expired(
    x_platform: XPlatform, x_ctx: AccountContext, fake_x: FakeX
) -> None:
    """X answers a reused refresh token 400 invalid_request: AuthExpired (the account must reconnect)."""
    fresh = run(x_platform.refresh(x_ctx))
    assert fresh.refresh_token and fresh.refresh_token != x_ctx.tokens.refresh_token
    with pytest.raises(AuthExpired, match="invalid_request"):
        run(x_platform.refresh(x_ctx))
    x_ctx.tokens = fresh
    assert run(x_platform.refresh(x_ctx)).access_token
