"""LinkedIn's error responses mapped onto OCMA's typed failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fake_linkedin import FakeLinkedIn
from linkedin_testkit import connect, run
from ocma_linkedin import LinkedInPlatform
from ocma_linkedin.errors import next_midnight_utc, raise_for_linkedin

from ocma_core import AuthExpired, PostContent, RateLimited, Rejected, Transient, Unconfirmed


def response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("POST", "https://api.linkedin.com/rest/posts")
    return httpx.Response(status, json=body, headers=headers, request=request)


def test_success_passes() -> None:
    raise_for_linkedin(response(201, None, {"x-restli-id": "urn:li:share:1"}))


def test_429_with_retry_after() -> None:
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as info:
        raise_for_linkedin(
            response(
                429,
                {
                    "status": 429,
                    "message": "Resource level throttle limit for calls to this resource is reached.",
                },
                {"Retry-After": "120"},
            )
        )
    assert before + timedelta(seconds=110) <= info.value.retry_at <= before + timedelta(seconds=130)
    assert "throttle limit" in info.value.message


def test_429_without_headers_waits_for_the_daily_reset() -> None:
    with pytest.raises(RateLimited) as info:
        raise_for_linkedin(response(429, {"status": 429, "message": "Resource level throttle limit"}))
    assert info.value.retry_at == next_midnight_utc()
    reset = next_midnight_utc(datetime(2026, 3, 31, 23, 59, 30, tzinfo=UTC))
    assert reset == datetime(2026, 4, 1, tzinfo=UTC)


@pytest.mark.parametrize(("service", "word"), [(65600, "invalid or expired"), (65601, "revoked")])
def test_401_token_errors(service: int, word: str) -> None:
    body = {"status": 401, "serviceErrorCode": service, "message": "Invalid access token"}
    with pytest.raises(AuthExpired, match=word):
        raise_for_linkedin(response(401, body))


def test_403_access_denied() -> None:
    body = {
        "status": 403,
        "serviceErrorCode": 100,
        "code": "ACCESS_DENIED",
        "message": "Not enough permissions to access: partnerApiPostsExternal.CREATE.20260701",
    }
    with pytest.raises(Rejected, match=r"partnerApiPostsExternal\.CREATE") as info:
        raise_for_linkedin(response(403, body))
    assert info.value.code == "ACCESS_DENIED"


def test_422_validation_message() -> None:
    body = {"status": 422, "message": "ERROR :: /visibility :: field is required but not found\n"}
    with pytest.raises(Rejected, match="/visibility") as info:
        raise_for_linkedin(response(422, body))
    assert info.value.status == 422


def test_400_duplicate_message() -> None:
    body = {"status": 400, "message": "Content is a duplicate of urn:li:share:7141138937766391808"}
    with pytest.raises(Rejected, match="duplicate of urn:li:share:7141138937766391808") as info:
        raise_for_linkedin(response(400, body))
    assert info.value.code == "DUPLICATE_POST"


def test_5xx_is_transient_for_reads_and_unconfirmed_for_post_creation() -> None:
    with pytest.raises(Transient):
        raise_for_linkedin(response(500, {"status": 500, "message": "Internal Server Error"}))
    with pytest.raises(Unconfirmed, match="may exist"):
        raise_for_linkedin(response(504, {"status": 504, "message": "Gateway Timeout"}), creates_post=True)


def test_non_json_error_body() -> None:
    request = httpx.Request("GET", "https://api.linkedin.com/rest/posts")
    with pytest.raises(Transient, match="upstream connect error"):
        raise_for_linkedin(httpx.Response(503, text="upstream connect error", request=request))


def test_daily_quota_429_from_the_fake(linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn) -> None:
    ctx = connect(linkedin, fake_linkedin)
    fake_linkedin.fail_next("rate_limit_daily")
    with pytest.raises(RateLimited) as info:
        run(linkedin.publish(ctx, PostContent(text="quota")))
    assert info.value.retry_at == next_midnight_utc()


def test_server_error_on_create_is_resolved_by_find_published(
    linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn
) -> None:
    ctx = connect(linkedin, fake_linkedin, author_urn="urn:li:organization:2414183")
    content = PostContent(text="Maybe posted")
    since = datetime.now(UTC)
    fake_linkedin.fail_next("server_error")
    with pytest.raises(Unconfirmed):
        run(linkedin.publish(ctx, content))
    assert (
        run(linkedin.find_published(ctx, content, since)) is None
    )  # LinkedIn did not store it: retry is safe
    assert run(linkedin.publish(ctx, content)).external_id


def test_reads_after_server_error_are_transient(
    linkedin: LinkedInPlatform, fake_linkedin: FakeLinkedIn
) -> None:
    ctx = connect(linkedin, fake_linkedin, author_urn="urn:li:organization:2414183")
    fake_linkedin.fail_request("GET", r"/rest/networkSizes/.+", 502)
    with pytest.raises(Transient, match="502"):
        run(linkedin.account_metrics(ctx))
    assert run(linkedin.account_metrics(ctx)).values == {"followers": 0.0}
