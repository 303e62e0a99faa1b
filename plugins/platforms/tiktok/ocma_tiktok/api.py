"""TikTok's answer envelope, `{"data": {...}, "error": {"code", "message", "log_id"}}`, and its typed failures.

Every Content Posting and Display API answer carries `error.code` ("ok" on success), whatever the HTTP status.
The code, not the status, decides the failure (developers.tiktok.com/doc/tiktok-api-v2-error-handling and the
Content Posting API's error tables):

- `access_token_invalid` → AuthExpired (the engine refreshes once, then asks for a reconnection);
  `scope_not_authorized` → AuthExpired (the person did not grant the scope: only a new consent helps);
- `rate_limit_exceeded` → RateLimited; TikTok documents a one-minute sliding window and no retry header, so
  a Retry-After is honoured when sent, else the call is retried a minute later;
- `spam_risk_too_many_posts`, `spam_risk_user_banned_from_posting`, `privacy_level_option_mismatch`,
  `invalid_params`, `invalid_file_upload`, `url_ownership_unverified`, `reached_active_user_cap` and
  `unaudited_client_can_only_post_to_private_accounts` → Rejected with TikTok's words (and what to do);
- `internal_error` and any 5xx → Transient (nothing was stored), other unknown codes → Rejected.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ocma_core import AuthExpired, PlatformError, RateLimited, Rejected, Transient, Unconfirmed, retry_time

if TYPE_CHECKING:
    import httpx

#: What OCMA adds to TikTok's own message, for the codes a person can act on.
ADVICE = {
    "unaudited_client_can_only_post_to_private_accounts": (
        "TikTok has not audited this app (OCMA_TIKTOK_CLIENT_KEY) for the Content Posting API, so it may only "
        "post to private accounts, and only with privacy_level SELF_ONLY. Make the TikTok account private or "
        "post as SELF_ONLY, or submit the app for TikTok's audit to post publicly."
    ),
    "privacy_level_option_mismatch": (
        "The privacy level is not one this creator may use now; pick one of the creator's options."
    ),
    "spam_risk_too_many_posts": "TikTok limits how many posts an account makes a day; try again tomorrow.",
    "spam_risk_user_banned_from_posting": "TikTok has banned this account from posting.",
    "url_ownership_unverified": (
        "TikTok only pulls media from a domain or URL prefix verified for the app: verify OCMA_PUBLIC_URL's "
        "domain in the TikTok developer portal, or upload the file instead (source FILE_UPLOAD)."
    ),
    "reached_active_user_cap": "The app reached its daily cap of active posting users.",
}
AUTH_CODES = frozenset({"access_token_invalid", "scope_not_authorized", "scope_permission_missed"})
TRANSIENT_CODES = frozenset({"internal_error"})
RATE_WINDOW = timedelta(minutes=1)


def envelope_error(body: Any) -> tuple[str, str, str]:
    """(code, message, log_id) of an answer's `error` object; code "" when the body carries none."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", "", ""
    return str(error.get("code") or ""), str(error.get("message") or ""), str(error.get("log_id") or "")


def failure_for(response: httpx.Response, *, creates: bool) -> PlatformError | None:
    """The typed failure an answer stands for, or None when it succeeded (`error.code` "ok")."""
    try:
        body = response.json()
    except ValueError:
        body = None
    code, message, log_id = envelope_error(body)
    status = response.status_code
    if code == "ok" and status < 400:
        return None
    said = f"TikTok: {message or code or f'HTTP {status}'}"
    if code and code != "ok":
        said += f" ({code}{', log_id ' + log_id if log_id else ''})"
    if code in ADVICE:
        said += f". {ADVICE[code]}"
    if code == "rate_limit_exceeded" or status == 429:
        when = retry_time(response) if "retry-after" in response.headers else datetime.now(UTC) + RATE_WINDOW
        return RateLimited(said, retry_at=when, status=status, code=code or "429")
    if code in AUTH_CODES or status == 401:
        return AuthExpired(said, status=status, code=code or "401")
    if code in TRANSIENT_CODES or status >= 500:
        return Transient(said, status=status, code=code or str(status))
    if not code and status < 400:
        # A 2xx without the envelope: for a call that may have created something, its outcome is unknown.
        if creates:
            return Unconfirmed(f"TikTok answered without its error envelope (HTTP {status}).", status=status)
        return Rejected(f"TikTok answered without its error envelope (HTTP {status}).", status=status)
    return Rejected(said, status=status, code=code or str(status))


def data_of(response: httpx.Response, *, creates: bool = False) -> dict[str, Any]:
    """The `data` object of a successful answer; the typed failure otherwise."""
    failure = failure_for(response, creates=creates)
    if failure is not None:
        raise failure
    body = response.json()
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else {}
