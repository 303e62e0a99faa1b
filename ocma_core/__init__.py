"""OCMA core: plugin framework, Platform contract, storage, publishing engine, HTTP API and CLI.

The names exported here are the public API that plugins may use. Importing this package is cheap:
it loads no web framework, no database layer and no AI library.
"""

from ocma_core.background_job import BackgroundJob
from ocma_core.errors import (
    AuthExpired,
    ConfigError,
    OcmaError,
    PlatformError,
    RateLimited,
    Rejected,
    Transient,
    Unconfirmed,
)
from ocma_core.etags import if_match_matches, json_etag
from ocma_core.event_kind import EventKind
from ocma_core.hookspecs import hookimpl
from ocma_core.logs import register_secret
from ocma_core.platforms import (
    AccountContext,
    AuthKind,
    Capability,
    FoundPost,
    Limits,
    MediaItem,
    MediaRules,
    MetricsSnapshot,
    OAuthClient,
    PastPage,
    PastPost,
    Platform,
    PostContent,
    Problem,
    Profile,
    PublishResult,
    RateBudget,
    RateLimitInfo,
    TextLimit,
    TokenSet,
    WebhookEvent,
    count_characters,
    error_code,
    error_detail,
    numeric_values,
    parse_reset,
    retry_time,
)
from ocma_core.workspace_settings import WorkspaceSetting

__version__ = "0.1.0"

__all__ = [
    "AccountContext",
    "AuthExpired",
    "AuthKind",
    "BackgroundJob",
    "Capability",
    "ConfigError",
    "EventKind",
    "FoundPost",
    "Limits",
    "MediaItem",
    "MediaRules",
    "MetricsSnapshot",
    "OAuthClient",
    "OcmaError",
    "PastPage",
    "PastPost",
    "Platform",
    "PlatformError",
    "PostContent",
    "Problem",
    "Profile",
    "PublishResult",
    "RateBudget",
    "RateLimitInfo",
    "RateLimited",
    "Rejected",
    "TextLimit",
    "TokenSet",
    "Transient",
    "Unconfirmed",
    "WebhookEvent",
    "WorkspaceSetting",
    "count_characters",
    "error_code",
    "error_detail",
    "hookimpl",
    "if_match_matches",
    "json_etag",
    "numeric_values",
    "parse_reset",
    "register_secret",
    "retry_time",
]
