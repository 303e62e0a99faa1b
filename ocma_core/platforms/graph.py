"""Meta Graph API helpers for platform plugins: Facebook Pages, Instagram, Threads and any other Graph surface.

Public API for plugin authors (documented in docs/plugins.md, "Meta Graph helpers"):

- `GraphError` and `graph_error(response)`: the error envelope
  `{"error": {"message", "type", "code", "error_subcode", "error_user_msg", "is_transient", "fbtrace_id"}}`.
- `raise_for_graph(response, service, creates=...)`: the envelope mapped onto the typed failures — 190 and
  the session subcodes (463 expired, 460 password changed, 458 app removed, 467 invalid, 464 unconfirmed
  user) are AuthExpired; 4, 17, 32, 613, 80001-80009 (and Instagram's publish-limit 9) RateLimited, with the
  time Meta gave in `estimated_time_to_regain_access`; 368 (temporarily blocked) RateLimited for an hour;
  1, 2 and `is_transient` Transient (Unconfirmed for a call that creates something); anything else, 100
  (invalid parameter, invalid metric) included, Rejected with Meta's own words.
- `usage_limits(headers)`: `X-App-Usage`, `X-Page-Usage`, `X-Ad-Account-Usage` and
  `X-Business-Use-Case-Usage` (percentages of quota) read as `RateLimitInfo` for the engine's budgets: the
  remaining budget is the percentage points left below `USAGE_THRESHOLD` (95%), so at 95% the engine waits —
  until `estimated_time_to_regain_access`, or `USAGE_RECHECK_S` — instead of calling.
- `record_readings(ctx, readings)`: keep one reading per scope on a call's context, the most constraining.
- `GraphPlatform`: a `Platform` base whose `send()` records those readings and whose `raise_for_status()` is
  `raise_for_graph`.
- `appsecret_proof(app_secret, token)`, `token_set(body)` and `request_token(...)`: the token calls
  (code exchange, `fb_exchange_token` / `ig_exchange_token` / `th_exchange_token`, `*_refresh_token`).
- `public_media_url(item, service, api_base)`: the signed URL Meta downloads a media item from, refused with
  a ConfigError naming OCMA_PUBLIC_URL when it is a loopback or private address.
- `hub_challenge(params, verify_token)`, `verify_signature(app_secret, headers, body)` and
  `parse_webhook(body)`: the webhook handshake, the `X-Hub-Signature-256` check (constant-time) and the
  `{object, entry[{id, time, changes[{field, value}]}]}` deliveries of `page`, `instagram` and `threads`.

Sources: developers.facebook.com "Graph API: Handling Errors", "Rate Limiting", "Webhooks: Getting Started"
(see each plugin's README for what was relied on).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ocma_core.errors import AuthExpired, RateLimited, Rejected, Transient, Unconfirmed
from ocma_core.platforms.base import Platform
from ocma_core.platforms.types import AccountContext, MediaItem, RateLimitInfo, TokenSet, WebhookEvent

if TYPE_CHECKING:
    import httpx

#: Usage (percent of quota) at which OCMA stops calling until Meta's usage window moves on.
USAGE_THRESHOLD = 95.0
#: How long to wait at the threshold when Meta gives no `estimated_time_to_regain_access`.
USAGE_RECHECK_S = 300.0
#: How long a Graph rate-limit error blocks when no header says more (the usage window is a rolling hour).
DEFAULT_BLOCK_S = 600.0
TEMPORARY_BLOCK_S = 3600.0

AUTH_CODES = frozenset({102, 190})
AUTH_SUBCODES = frozenset({458, 459, 460, 463, 464, 467})
RATE_CODES = frozenset({4, 17, 32, 613, *range(80001, 80010)})
#: Instagram: "Application request limit reached" for the content publishing quota (code 9).
PUBLISH_LIMIT_SUBCODES = frozenset({2207042})
TRANSIENT_CODES = frozenset({1, 2})
TEMPORARILY_BLOCKED = 368
INVALID_PARAMETER = 100
USAGE_HEADERS = ("x-app-usage", "x-page-usage", "x-ad-account-usage", "x-business-use-case-usage")
SIGNATURE_HEADER = "x-hub-signature-256"


@dataclass(frozen=True)
class GraphError:
    """One Graph error envelope."""

    status: int
    code: int | None
    subcode: int | None
    message: str
    type: str = ""
    user_message: str = ""
    is_transient: bool = False
    fbtrace_id: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """Meta's words: the message, with the user-facing one when Meta gave one."""
        said = self.message or f"HTTP {self.status}"
        if self.user_message and self.user_message not in said:
            said = f"{said} ({self.user_message})"
        codes = ", ".join(
            f"{name} {value}" for name, value in (("code", self.code), ("subcode", self.subcode)) if value
        )
        return f"{said} [{codes}]" if codes else said


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def graph_error(response: httpx.Response) -> GraphError:
    """The error envelope of a response (a bare HTTP status when the body is not one)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        reason = response.reason_phrase or "error"
        return GraphError(response.status_code, None, None, f"HTTP {response.status_code} {reason}")
    return GraphError(
        status=response.status_code,
        code=_int(error.get("code")),
        subcode=_int(error.get("error_subcode")),
        message=str(error.get("message") or ""),
        type=str(error.get("type") or ""),
        user_message=str(error.get("error_user_msg") or error.get("error_user_title") or ""),
        is_transient=bool(error.get("is_transient")),
        fbtrace_id=str(error.get("fbtrace_id") or ""),
        raw=error,
    )


def regain_access_at(headers: Mapping[str, str], now: datetime | None = None) -> datetime | None:
    """The latest `estimated_time_to_regain_access` (minutes) in the usage headers, as a UTC time."""
    now = now or datetime.now(UTC)
    minutes = [
        float(entry.get("estimated_time_to_regain_access") or 0)
        for entry in _usage_entries(headers)
        if isinstance(entry.get("estimated_time_to_regain_access"), int | float)
    ]
    longest = max(minutes, default=0.0)
    return now + timedelta(minutes=longest) if longest > 0 else None


def raise_for_graph(response: httpx.Response, service: str, *, creates: bool = False) -> None:
    """Raise the typed failure for a Graph error response; return quietly on success.

    `creates` marks a call that creates something (a post, a container, a publish): a server error or a
    transient error there may come after Meta stored it, so it is Unconfirmed, never Transient.
    """
    if response.status_code < 400:
        return
    err = graph_error(response)
    status, code, subcode = err.status, err.code, err.subcode
    label = str(code) if code is not None else None
    if code in AUTH_CODES or (subcode in AUTH_SUBCODES and code in (None, 190)) or status == 401:
        raise AuthExpired(f"{service} refused the access token: {err.text}", status=status, code=label)
    if code in RATE_CODES or (code == 9 and subcode in PUBLISH_LIMIT_SUBCODES) or status == 429:
        retry = regain_access_at(response.headers) or datetime.now(UTC) + timedelta(seconds=DEFAULT_BLOCK_S)
        raise RateLimited(
            f"{service} rate limit reached: {err.text}", retry_at=retry, status=status, code=label
        )
    if code == TEMPORARILY_BLOCKED:
        retry = datetime.now(UTC) + timedelta(seconds=TEMPORARY_BLOCK_S)
        raise RateLimited(
            f"{service} has temporarily blocked this account from this action: {err.text}",
            retry_at=retry,
            status=status,
            code=label,
        )
    if code in TRANSIENT_CODES or err.is_transient or status >= 500:
        if creates:
            raise Unconfirmed(f"{service} failed while creating; it may exist: {err.text}", status=status)
        raise Transient(f"{service} had a temporary problem: {err.text}", status=status, code=label)
    raise Rejected(f"{service} refused the request: {err.text}", status=status, code=label)


def is_invalid_metric(response: httpx.Response) -> bool:
    """True when Meta refused an insights metric it does not (or no longer) serve: code 100, or code 10 for
    media with too few viewers. Such a metric is "not available", never zero."""
    if response.status_code < 400:
        return False
    err = graph_error(response)
    return err.code in (INVALID_PARAMETER, 10) and "metric" in (err.message + err.user_message).lower()


# ----- usage headers -------------------------------------------------------------------------------------
def _load(value: str | None) -> Any:
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _usage_entries(headers: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every usage reading of the headers, each a dict of percentages (plus the BUC's type and time)."""
    lower = {k.lower(): v for k, v in headers.items()}
    entries: list[dict[str, Any]] = []
    for name in USAGE_HEADERS:
        data = _load(lower.get(name))
        if name == "x-business-use-case-usage" and isinstance(data, dict):
            for owner, readings in data.items():
                for reading in readings if isinstance(readings, list) else [readings]:
                    if isinstance(reading, dict):
                        entries.append({**reading, "_header": name, "_owner": str(owner)})
        elif isinstance(data, dict):
            entries.append({**data, "_header": name})
    return entries


def usage_percent(entry: Mapping[str, Any]) -> float:
    """The highest of a reading's percentages (call count, CPU time, total time, accounts)."""
    keys = ("call_count", "total_cputime", "total_time", "acc_id_util_pct", "call_volume", "cpu_time")
    values = [float(entry[k]) for k in keys if isinstance(entry.get(k), int | float)]
    return max(values, default=0.0)


def usage_limits(
    headers: Mapping[str, str], bucket: str = "graph", now: datetime | None = None
) -> list[RateLimitInfo]:
    """The usage headers as at most one reading per scope: `app` (X-App-Usage) and `account` (the Page's and
    the business use case's), each the most used of its kind.

    `limit` is 100 (percent); `remaining` is the percentage points left below USAGE_THRESHOLD, so 0 at 95%
    and above; `reset_at` is Meta's `estimated_time_to_regain_access` when given, else USAGE_RECHECK_S ahead.
    """
    now = now or datetime.now(UTC)
    worst: dict[str, tuple[float, dict[str, Any]]] = {}
    for entry in _usage_entries(headers):
        scope = "app" if entry["_header"] == "x-app-usage" else "account"
        pct = usage_percent(entry)
        if scope not in worst or pct > worst[scope][0]:
            worst[scope] = (pct, entry)
    regain = regain_access_at(headers, now)
    infos: list[RateLimitInfo] = []
    for scope, (pct, entry) in sorted(worst.items()):
        remaining = max(0, int(USAGE_THRESHOLD - pct))
        minutes = entry.get("estimated_time_to_regain_access")
        own = (
            now + timedelta(minutes=float(minutes)) if isinstance(minutes, int | float) and minutes else None
        )
        reset = own or (regain if remaining == 0 and scope == "account" else None)
        reset = reset or now + timedelta(seconds=USAGE_RECHECK_S)
        infos.append(
            RateLimitInfo(scope=scope, bucket=bucket, limit=100, remaining=remaining, reset_at=reset)
        )
    return infos


def record_readings(ctx: AccountContext, readings: list[RateLimitInfo]) -> None:
    """Add rate readings to `ctx` keeping one per scope, the most constraining (fewest remaining; the later
    on a tie): the engine takes one reading per scope from a call, and a quota read before publishing (e.g.
    Instagram's `content_publishing_limit`) must not be hidden by the usage headers of the next answer."""
    kept: list[RateLimitInfo] = ctx.settings.setdefault("_rate_limits", [])
    for new in readings:
        old = next((i for i in kept if i.scope == new.scope), None)
        if (
            old is not None
            and old.remaining is not None
            and (new.remaining is None or old.remaining < new.remaining)
        ):
            continue
        if old is not None:
            kept.remove(old)
        kept.append(new)


class GraphPlatform(Platform):
    """A Platform on a Graph API: usage headers feed the budgets, errors map through `raise_for_graph`."""

    async def send(
        self,
        method: str,
        url: str,
        *,
        ctx: AccountContext | None = None,
        bucket: str = "",
        expect_effect: bool | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """`Platform.send`, recording every usage header reading (app and account) on `ctx`."""
        response = await super().send(method, url, expect_effect=expect_effect, **kwargs)
        if ctx is not None:
            record_readings(ctx, usage_limits(response.headers, bucket or f"{method.upper()} {url}"))
        return response

    def raise_for_status(self, response: httpx.Response, *, effect: bool = True) -> None:
        """Map a Graph error envelope onto the typed failures (`effect`: the call creates something)."""
        raise_for_graph(response, self.display_name or self.name, creates=effect)


# ----- public media ------------------------------------------------------------------------------------
def _loopback_or_private(host: str) -> bool:
    import ipaddress

    if host in ("localhost", "") or host.endswith(".localhost") or host.endswith(".local"):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # a name: Meta resolves it, and `ocma doctor` checks it from here
    return not address.is_global


def public_media_url(item: MediaItem, service: str, api_base: str) -> str:
    """The URL `service` downloads `item` from; ConfigError saying what to set when it cannot reach it.

    Meta fetches media from a URL and cannot receive an upload. OCMA hands it the media's signed URL under
    OCMA_PUBLIC_URL (`ocma serve` answers it from any media store, S3 included). A loopback or private
    address is refused up front, unless the API itself is on such an address (a proxy or test server on this
    network can reach it)."""
    from urllib.parse import urlsplit

    from ocma_core.errors import ConfigError

    url = item.public_url or ""
    if not url:
        raise ConfigError(
            f"{service} downloads media from a public URL, and this media item has none.",
            fix="Attach media uploaded to OCMA (it signs a public URL for each file).",
        )
    host = urlsplit(url).hostname or ""
    if _loopback_or_private(host) and not _loopback_or_private(urlsplit(api_base).hostname or ""):
        raise ConfigError(
            f"{service} must download the media from {urlsplit(url).scheme}://{host}, a loopback or private "
            "address its servers cannot reach.",
            fix="Set OCMA_PUBLIC_URL to the https address where this OCMA is reachable from the internet (a "
            "reverse proxy or tunnel in front of `ocma serve`), then check with `ocma doctor`.",
        )
    return url


# ----- tokens --------------------------------------------------------------------------------------------
def appsecret_proof(app_secret: str, access_token: str) -> str:
    """hex(HMAC-SHA256(key=app secret, msg=access token)): Graph's `appsecret_proof` parameter."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


def token_set(body: Mapping[str, Any], now: datetime | None = None, **extra: Any) -> TokenSet:
    """A TokenSet from a Graph token answer `{access_token, token_type, expires_in}` (no refresh tokens)."""
    now = now or datetime.now(UTC)
    expires_in = body.get("expires_in")
    expires_at = now + timedelta(seconds=int(expires_in)) if isinstance(expires_in, int | float) else None
    scopes = tuple(str(body.get("permissions") or body.get("scope") or "").replace(",", " ").split())
    data = {k: v for k, v in extra.items() if v is not None}
    if body.get("user_id") is not None:
        data.setdefault("user_id", str(body["user_id"]))
    return TokenSet(access_token=str(body["access_token"]), expires_at=expires_at, scopes=scopes, extra=data)


async def request_token(
    platform: Platform, method: str, url: str, params: Mapping[str, str], what: str
) -> dict[str, Any]:
    """Call a Graph token endpoint (params in the query for GET, in the form for POST); the JSON answer.

    A refused code or token is AuthExpired (reconnect), other refusals Rejected, server errors Transient.
    """
    service = platform.display_name or platform.name
    if method.upper() == "GET":
        response = await platform.send("GET", url, params=dict(params), expect_effect=False)
    else:
        response = await platform.send("POST", url, data=dict(params), expect_effect=False)
    if response.status_code >= 400:
        err = graph_error(response)
        if response.status_code >= 500 or err.code in TRANSIENT_CODES:
            raise Transient(f"{service}'s token endpoint failed: {err.text}", status=response.status_code)
        if err.code in RATE_CODES:
            raise_for_graph(response, service)
        raise AuthExpired(f"{service} refused the {what}: {err.text}", status=response.status_code)
    body = response.json()
    if not isinstance(body, dict) or not body.get("access_token"):
        raise Rejected(f"{service} answered the {what} without an access token.")
    return body


# ----- webhooks ------------------------------------------------------------------------------------------
def hub_challenge(params: Mapping[str, str], verify_token: str | None) -> tuple[int, str] | None:
    """Answer Meta's verification GET (`hub.mode=subscribe`, `hub.verify_token`, `hub.challenge`): 200 with
    the challenge echoed as the body when the token matches, else 403; None when `params` is not one."""
    if "hub.mode" not in params and "hub.challenge" not in params:
        return None
    sent = params.get("hub.verify_token", "")
    if params.get("hub.mode") != "subscribe" or not verify_token:
        return 403, "Forbidden"
    if not hmac.compare_digest(sent.encode(), verify_token.encode()):
        return 403, "Forbidden"
    return 200, params.get("hub.challenge", "")


def signature(app_secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` value Meta sends for `body`: `sha256=<hex HMAC-SHA256(app secret, body)>`."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(app_secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
    """True when `X-Hub-Signature-256` is the app secret's HMAC of the raw body (constant-time compare)."""
    if not app_secret:
        return False
    sent = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), "").strip()
    return bool(sent) and hmac.compare_digest(sent.lower().encode(), signature(app_secret, body).encode())


#: (object, field, item/verb) -> OCMA event kind; a `None` item matches any.
_KINDS: dict[tuple[str, str], str] = {
    ("page", "mention"): "mention",
    ("instagram", "comments"): "comment",
    ("instagram", "live_comments"): "comment",
    ("instagram", "mentions"): "mention",
    ("threads", "replies"): "comment",
    ("threads", "mentions"): "mention",
}


def _page_feed_kind(value: Mapping[str, Any]) -> str:
    item, verb = str(value.get("item") or ""), str(value.get("verb") or "")
    if item == "comment":
        return {"remove": "comment_deleted", "edited": "comment_edited"}.get(verb, "comment")
    if item == "reaction":
        return "reaction"
    return f"feed.{item or 'change'}"


def _post_id(obj: str, value: Mapping[str, Any]) -> str | None:
    if obj == "page":
        found = value.get("post_id") or value.get("parent_id")
    elif obj == "instagram":
        media = value.get("media")
        found = media.get("id") if isinstance(media, dict) else value.get("media_id")
    else:  # threads: the reply's root post (ours), else the post it replies to
        root, parent = value.get("root_post"), value.get("replied_to")
        found = (root.get("id") if isinstance(root, dict) else None) or (
            parent.get("id") if isinstance(parent, dict) else None
        )
    return str(found) if found else None


def parse_webhook(body: bytes) -> list[WebhookEvent]:
    """The events of one delivery: comments and mentions of `page`, `instagram` and `threads` objects (other
    changes become `<object>.<field>` events). The event's account is the entry's id (Page, IG user, Threads
    user); `raw` is the change's value."""
    try:
        payload = json.loads(body)
    except ValueError:
        return []
    if not isinstance(payload, dict):
        return []
    obj = str(payload.get("object") or "")
    events: list[WebhookEvent] = []
    for entry in payload.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        changes = entry.get("changes") or []
        if isinstance(entry.get("values"), list):  # Threads delivers `values` in place of `changes`
            changes = [*changes, *entry["values"]]
        for change in changes:
            if not isinstance(change, dict):
                continue
            name = str(change.get("field") or "")
            found = change.get("value")
            value: dict[str, Any] = found if isinstance(found, dict) else {}
            if obj == "page" and name == "feed":
                kind = _page_feed_kind(value)
            else:
                kind = _KINDS.get((obj, name), f"{obj or 'meta'}.{name or 'change'}")
            events.append(
                WebhookEvent(
                    kind=kind,
                    external_post_id=_post_id(obj, value),
                    external_account_id=str(entry.get("id") or "") or None,
                    raw={"object": obj, "field": name, "time": entry.get("time"), "value": value},
                )
            )
    return events


__all__ = [
    "USAGE_THRESHOLD",
    "GraphError",
    "GraphPlatform",
    "appsecret_proof",
    "graph_error",
    "hub_challenge",
    "is_invalid_metric",
    "parse_webhook",
    "public_media_url",
    "raise_for_graph",
    "record_readings",
    "regain_access_at",
    "request_token",
    "signature",
    "token_set",
    "usage_limits",
    "usage_percent",
    "verify_signature",
]
