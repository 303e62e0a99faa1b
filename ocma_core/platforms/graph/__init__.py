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
  `raise_for_graph`; it also holds the app id and secret, `version`, `graph_url(path)`, `call(...)` as the
  account, `permalink(...)`, `publish_container(...)`, `meta_oauth_client(...)`, `scopes_setting(defaults)` and the webhook methods
  for the deliveries of its `webhook_object`.
- `appsecret_proof(app_secret, token)`, `token_set(body)` and `request_token(...)`: the token calls
  (code exchange, `fb_exchange_token` / `ig_exchange_token` / `th_exchange_token`, `*_refresh_token`).
- Instagram Login and Threads: `long_lived_tokens(body)` (the self-refreshing long-lived token as OCMA stores
  it), `exchange_short_lived(...)` and `refresh_long_lived(...)`. Facebook Login: `facebook_user_token(...)`
  (code → long-lived user token), `page_token_set(...)` (a Page's token, reconnect by the user token's
  expiry) and `no_refresh_token(ctx, said)`.
- `public_media_url(item, service, api_base)`: the signed URL Meta downloads a media item from, refused with
  a ConfigError naming OCMA_PUBLIC_URL when it is a loopback or private address.
- `hub_challenge(params, verify_token)`, `verify_signature(app_secret, headers, body)` and
  `parse_webhook(body)`: the webhook handshake, the `X-Hub-Signature-256` check (constant-time) and the
  `{object, entry[{id, time, changes[{field, value}]}]}` deliveries of `page`, `instagram` and `threads`.

Sources: developers.facebook.com "Graph API: Handling Errors", "Rate Limiting", "Webhooks: Getting Started"
(see each plugin's README for what was relied on).
"""

from __future__ import annotations

from ocma_core.platforms.graph.errors import (
    AUTH_CODES,
    AUTH_SUBCODES,
    DEFAULT_BLOCK_S,
    INVALID_PARAMETER,
    PUBLISH_LIMIT_SUBCODES,
    RATE_CODES,
    TEMPORARILY_BLOCKED,
    TEMPORARY_BLOCK_S,
    TRANSIENT_CODES,
    GraphError,
    graph_error,
    is_invalid_metric,
    raise_for_graph,
)
from ocma_core.platforms.graph.logins import (
    REFRESHABLE_AFTER,
    exchange_short_lived,
    facebook_user_token,
    long_lived_tokens,
    no_refresh_token,
    page_token_set,
    refresh_long_lived,
)
from ocma_core.platforms.graph.platform import GraphPlatform, public_media_url
from ocma_core.platforms.graph.tokens import appsecret_proof, request_token, token_set
from ocma_core.platforms.graph.usage import (
    USAGE_HEADERS,
    USAGE_RECHECK_S,
    USAGE_THRESHOLD,
    record_readings,
    regain_access_at,
    usage_limits,
    usage_percent,
)
from ocma_core.platforms.graph.webhooks import (
    SIGNATURE_HEADER,
    hub_challenge,
    parse_webhook,
    signature,
    verify_signature,
)

__all__ = [
    "AUTH_CODES",
    "AUTH_SUBCODES",
    "DEFAULT_BLOCK_S",
    "INVALID_PARAMETER",
    "PUBLISH_LIMIT_SUBCODES",
    "RATE_CODES",
    "REFRESHABLE_AFTER",
    "SIGNATURE_HEADER",
    "TEMPORARILY_BLOCKED",
    "TEMPORARY_BLOCK_S",
    "TRANSIENT_CODES",
    "USAGE_HEADERS",
    "USAGE_RECHECK_S",
    "USAGE_THRESHOLD",
    "GraphError",
    "GraphPlatform",
    "appsecret_proof",
    "exchange_short_lived",
    "facebook_user_token",
    "graph_error",
    "hub_challenge",
    "is_invalid_metric",
    "long_lived_tokens",
    "no_refresh_token",
    "page_token_set",
    "parse_webhook",
    "public_media_url",
    "raise_for_graph",
    "record_readings",
    "refresh_long_lived",
    "regain_access_at",
    "request_token",
    "signature",
    "token_set",
    "usage_limits",
    "usage_percent",
    "verify_signature",
]
