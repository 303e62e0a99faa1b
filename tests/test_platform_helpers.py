"""Core helpers plugin authors would otherwise write: retry time from the body, error-code tables,
secrets redacted from logs, multipart bodies in fakes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from ocma_core import AuthExpired, Platform, RateLimited, Rejected, Transient, register_secret
from ocma_core.logs import QUIET_LOGGERS, RedactingFilter, configure_logging, redact
from ocma_core.platforms import error_code, retry_time
from ocma_core.testing.fakeserver import FakeRequest


def _response(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers, request=httpx.Request("POST", "http://x/"))


def test_retry_time_reads_retry_after_from_the_body() -> None:
    before = datetime.now(UTC)
    at = retry_time(_response(429, {"message": "You are being rate limited.", "retry_after": 12.5}))
    assert before + timedelta(seconds=12) <= at <= datetime.now(UTC) + timedelta(seconds=13)
    header_wins = retry_time(_response(429, {"retry_after": 500}, {"retry-after": "3"}))
    assert header_wins <= datetime.now(UTC) + timedelta(seconds=4)


class _Coded(Platform):
    name = "coded"
    error_codes = {"10015": AuthExpired, "50035": Rejected, "slow_down": RateLimited, "130000": Transient}


@pytest.mark.parametrize(
    ("body", "status", "failure"),
    [
        ({"code": 10015, "message": "Unknown Webhook"}, 404, AuthExpired),
        ({"code": 50035, "message": "Invalid Form Body"}, 400, Rejected),
        ({"error": "slow_down", "retry_after": 5}, 400, RateLimited),
        ({"code": 130000, "message": "API resource is currently overloaded"}, 400, Transient),
        ({"code": 99999, "message": "other"}, 503, Transient),  # not in the table: by HTTP status
    ],
)
def test_error_codes_table_decides_the_failure(body: dict[str, object], status: int, failure: type) -> None:
    with pytest.raises(failure) as info:
        _Coded(env={}).raise_for_status(_response(status, body))
    assert str(body.get("message", body.get("error"))) in info.value.message


def test_error_code_reads_code_or_error() -> None:
    assert error_code(_response(400, {"code": 50035})) == "50035"
    assert error_code(_response(400, {"error": "invalid_auth"})) == "invalid_auth"
    assert error_code(_response(400, {"error": {"nested": 1}})) is None


def test_registered_secrets_are_redacted_wherever_they_appear() -> None:
    token = "wH-9kXq2Lr7tP0sVbN4mZc8yJd1"
    register_secret(token, None, "short")
    assert redact(f"POST https://discord.com/api/webhooks/123/{token}?wait=true") == (
        "POST https://discord.com/api/webhooks/123/[redacted]?wait=true"
    )
    assert redact("a short word stays") == "a short word stays"
    record = logging.LogRecord("httpx", logging.WARNING, __file__, 1, "HTTP Request: %s", (token,), None)
    RedactingFilter().filter(record)
    assert token not in record.getMessage()


def test_httpx_request_lines_are_quiet() -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        configure_logging("text", "INFO")
        assert all(logging.getLogger(name).getEffectiveLevel() >= logging.WARNING for name in QUIET_LOGGERS)
    finally:
        root.handlers, root.level = handlers, level
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)


def test_fake_request_reads_multipart() -> None:
    request = httpx.Request(
        "POST",
        "http://x/",
        files={"files[0]": ("a.png", b"\x89PNG", "image/png")},
        data={"payload_json": '{"content": "hi"}'},
    )
    headers = {k.lower(): v for k, v in request.headers.items()}
    parts = FakeRequest("POST", "/", {}, headers, request.read()).multipart()
    assert parts["payload_json"].json() == {"content": "hi"}
    upload = parts["files[0]"]
    assert (upload.filename, upload.content_type, upload.data) == ("a.png", "image/png", b"\x89PNG")
