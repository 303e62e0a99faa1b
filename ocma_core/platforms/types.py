"""Plain data types that cross the Platform contract (no I/O, cheap to import)."""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any


class Capability(enum.StrEnum):
    """What a platform can do; the core asks before calling the matching method."""

    PUBLISH_TEXT = "publish_text"
    PUBLISH_IMAGES = "publish_images"
    PUBLISH_VIDEO = "publish_video"
    THREADS = "threads"
    POLLS = "polls"
    DELETE = "delete"
    FIND_PUBLISHED = "find_published"
    POST_METRICS = "post_metrics"
    ACCOUNT_METRICS = "account_metrics"
    WEBHOOKS = "webhooks"
    COMMENTS = "comments"
    IDEMPOTENT_PUBLISH = "idempotent_publish"


class AuthKind(enum.StrEnum):
    """How an account is connected."""

    OAUTH2 = "oauth2"
    APP_PASSWORD = "app_password"  # e.g. Bluesky: handle + app password -> session
    TOKEN = "token"  # a long-lived token pasted by the user (e.g. a Mastodon access token)
    NONE = "none"  # nothing to supply: a local practice platform (the sandbox); options only


def count_characters(text: str) -> int:
    """Count Unicode code points of the NFC-normalised text (the rule most platforms use)."""
    return len(unicodedata.normalize("NFC", text))


@dataclass(frozen=True)
class TextLimit:
    """The maximum length of a post and how the platform counts it."""

    max_length: int
    unit: str = "characters"
    counter: Callable[[str], int] = count_characters
    optimum: int | None = None  # length the platform's own guidance calls ideal, where documented

    def count(self, text: str) -> int:
        """Length of `text` as the platform counts it."""
        return self.counter(text)


@dataclass(frozen=True)
class MediaRules:
    """Media a single post may carry."""

    max_images: int = 0
    max_videos: int = 0
    image_types: tuple[str, ...] = ("image/jpeg", "image/png", "image/gif", "image/webp")
    video_types: tuple[str, ...] = ("video/mp4",)
    max_image_bytes: int = 5 * 1024 * 1024
    max_video_bytes: int = 512 * 1024 * 1024
    mix_images_and_video: bool = False
    requires_media: bool = False
    max_alt_text: int = 1000


@dataclass(frozen=True)
class Limits:
    """A platform's content limits."""

    text: TextLimit
    media: MediaRules = field(default_factory=MediaRules)
    max_thread_length: int = 1


@dataclass(frozen=True)
class OAuthClient:
    """OAuth 2.0 endpoints and client settings of a platform app."""

    authorize_url: str
    token_url: str
    client_id: str
    client_secret: str | None
    scopes: tuple[str, ...]
    pkce: bool = True
    scope_separator: str = " "
    extra_authorize_params: tuple[tuple[str, str], ...] = ()


@dataclass
class TokenSet:
    """Tokens returned by an authorisation or refresh; `refresh_token` may rotate on each refresh."""

    access_token: str
    refresh_token: str | None = None
    expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    scopes: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # non-secret session data (e.g. a PDS host)


@dataclass
class Profile:
    """Who the connected account is on the platform."""

    external_id: str
    handle: str
    display_name: str = ""
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The host the account lives on when the platform has many (a Mastodon instance's domain): an account
    # is its external_id on this host. "" for a platform that is one service.
    host: str = ""


@dataclass
class AccountContext:
    """What a platform call needs to act as one connected account."""

    account_id: str
    external_id: str
    handle: str
    tokens: TokenSet
    settings: dict[str, Any] = field(default_factory=dict)  # e.g. instance URL, page id, author type


@dataclass
class MediaItem:
    """One attachment: a local file, with what platforms need to know about it."""

    path: Path
    mime_type: str
    size: int
    sha256: str
    alt_text: str = ""
    width: int | None = None
    height: int | None = None
    public_url: str | None = None  # signed URL for platforms that fetch media themselves
    media_id: str = ""  # OCMA's media id, so a URL can be signed again later (e.g. the sandbox's page)

    @property
    def is_video(self) -> bool:
        """True when the item is a video."""
        return self.mime_type.startswith("video/")

    def read_bytes(self) -> bytes:
        """The file's content."""
        return self.path.read_bytes()


@dataclass
class PostContent:
    """What to publish for one target: text, media, follow-up thread parts and platform options."""

    text: str
    media: list[MediaItem] = field(default_factory=list)
    thread: list[PostContent] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)  # platform-specific: poll, visibility, ...
    idempotency_key: str = ""  # stable per target, so a platform that supports it can deduplicate

    def all_parts(self) -> list[PostContent]:
        """This part followed by each thread part."""
        return [self, *self.thread]


@dataclass
class Problem:
    """One validation problem, with the platform's own words where available."""

    code: str
    message: str
    field: str = "text"

    def as_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"code": self.code, "message": self.message, "field": self.field}


@dataclass
class PublishResult:
    """The outcome of a publish: the platform's id and public URL (or a pending handle)."""

    external_id: str
    url: str | None = None
    pending: bool = False  # the platform is still processing; call check_pending later
    # Every part's id, first part first. A thread's result must list all its parts: the engine never marks
    # a thread with fewer ids than parts as published. A pending thread lists the parts out so far, the
    # last one being the part the platform is still processing (the one `check_pending` is asked about).
    part_ids: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def parts_out(self) -> list[str]:
        """The ids of the parts this result says exist (`part_ids`, or the single `external_id`)."""
        return list(self.part_ids) or [self.external_id]


@dataclass
class FoundPost:
    """What `find_published` found: the ids of the parts of a post (and its thread) that exist.

    `part_ids` is a prefix of the post's parts, first part first: part N+1 is listed only when it replies
    to part N. The engine publishes the parts after the last one found (`Platform.continue_thread`), so a
    thread whose reply was lost is completed without posting any part twice.
    """

    part_ids: list[str]
    url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.part_ids or not all(self.part_ids):
            raise ValueError("FoundPost needs the id of at least the first part; return None if none exists.")

    @property
    def external_id(self) -> str:
        """The first part's id (the id a post is known by)."""
        return self.part_ids[0]

    def missing(self, content: PostContent) -> list[PostContent]:
        """The parts of `content` after the ones found (empty when the post is complete)."""
        return content.all_parts()[len(self.part_ids) :]

    def complete(self, content: PostContent) -> bool:
        """True when every part of `content` was found."""
        return not self.missing(content)

    def as_result(self) -> PublishResult:
        """The found post as a publish result (for a complete post)."""
        return PublishResult(
            external_id=self.external_id, url=self.url, part_ids=list(self.part_ids), raw=dict(self.raw)
        )


@dataclass
class PastPost:
    """A post already on the platform (for `ocma metrics import-history`): its id, time and text."""

    external_id: str
    published_at: datetime
    text: str = ""
    url: str | None = None


@dataclass
class PastPage:
    """One page of `Platform.list_past_posts`, newest or oldest first; `cursor` fetches the next (None: done)."""

    posts: list[PastPost]
    cursor: str | None = None


@dataclass
class MetricsSnapshot:
    """Metrics as the platform reported them, named by the platform, plus what it does not provide."""

    values: dict[str, float]
    fetched_at: datetime
    unavailable: tuple[str, ...] = ()
    note: str = ""


@dataclass
class RateLimitInfo:
    """Rate limit state read from a response's headers."""

    scope: str  # "account" or "app"
    bucket: str  # e.g. "POST /2/tweets"
    limit: int | None
    remaining: int | None
    reset_at: datetime | None


@dataclass
class WebhookEvent:
    """A parsed webhook delivery."""

    kind: str
    external_post_id: str | None = None
    external_account_id: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
