"""Status requests (POST /api/v1/statuses) and the instance-aware checks before sending them."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

from ocma_core import PostContent, Problem
from ocma_mastodon.text import URL_CHARS, count_status

VISIBILITIES = ("public", "unlisted", "private", "direct")
# Defaults of a stock Mastodon server (GET /api/v2/instance, configuration.statuses / .polls).
DEFAULTS: dict[str, int] = {
    "max_characters": 500,
    "characters_reserved_per_url": URL_CHARS,
    "max_media_attachments": 4,
    "poll_max_options": 4,
    "poll_max_characters_per_option": 50,
    "poll_min_expiration": 300,
    "poll_max_expiration": 2629746,
}


def instance_limits(configuration: Mapping[str, Any]) -> dict[str, int]:
    """The limits OCMA keeps from an Instance's `configuration` object (defaults where absent)."""
    statuses = configuration.get("statuses") or {}
    polls = configuration.get("polls") or {}
    found = {
        "max_characters": statuses.get("max_characters"),
        "characters_reserved_per_url": statuses.get("characters_reserved_per_url"),
        "max_media_attachments": statuses.get("max_media_attachments"),
        "poll_max_options": polls.get("max_options"),
        "poll_max_characters_per_option": polls.get("max_characters_per_option"),
        "poll_min_expiration": polls.get("min_expiration"),
        "poll_max_expiration": polls.get("max_expiration"),
    }
    return {key: int(value) if isinstance(value, int) else DEFAULTS[key] for key, value in found.items()}


def limit(settings: Mapping[str, Any], key: str) -> int:
    """An instance limit from the account settings, else the stock default."""
    value = settings.get(key)
    return int(value) if isinstance(value, int) and value > 0 else DEFAULTS[key]


def idempotency_key(content_key: str, index: int) -> str:
    """The Idempotency-Key of part `index`: stable for a stable content key (random without one)."""
    seed = f"{content_key}:{index}" if content_key else uuid.uuid4().hex
    return "ocma-" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:40]


def status_body(
    part: PostContent, options: Mapping[str, Any], *, media_ids: list[str], reply_to: str | None, first: bool
) -> dict[str, Any]:
    """The JSON body of POST /api/v1/statuses for one part of a post."""
    body: dict[str, Any] = {"status": part.text, "visibility": options.get("visibility", "public")}
    if media_ids:
        body["media_ids"] = media_ids
    if reply_to:
        body["in_reply_to_id"] = reply_to
    if options.get("spoiler_text"):
        body["spoiler_text"] = str(options["spoiler_text"])
    if options.get("sensitive"):
        body["sensitive"] = True
    if options.get("language"):
        body["language"] = str(options["language"])
    poll = options.get("poll")
    if first and isinstance(poll, Mapping):
        body["poll"] = {
            "options": [str(option) for option in poll["options"]],
            "expires_in": int(poll["expires_in"]),
            "multiple": bool(poll.get("multiple", False)),
            "hide_totals": bool(poll.get("hide_totals", False)),
        }
    return body


def problems(content: PostContent, settings: Mapping[str, Any]) -> list[Problem]:
    """Length (instance limit, Mastodon's counting), media count, visibility, language and poll checks."""
    found: list[Problem] = []
    options = content.options
    spoiler = str(options.get("spoiler_text") or "")
    max_chars = limit(settings, "max_characters")
    url_chars = limit(settings, "characters_reserved_per_url")
    max_media = limit(settings, "max_media_attachments")
    for index, part in enumerate(content.all_parts()):
        where = "text" if index == 0 else f"thread[{index - 1}].text"
        length = count_status(part.text, spoiler, url_chars)
        if length > max_chars:
            found.append(
                Problem(
                    "too_long",
                    f"{length} characters as Mastodon counts them (URLs as {url_chars}, @user@host as @user, "
                    f"the content warning included); this server allows {max_chars}. "
                    f"Shorten it by {length - max_chars}.",
                    where,
                )
            )
        if len(part.media) > max_media:
            found.append(
                Problem(
                    "too_many_images",
                    f"This server allows {max_media} attachments per post.",
                    "media" if index == 0 else f"thread[{index - 1}].media",
                )
            )
    if options.get("visibility", "public") not in VISIBILITIES:
        found.append(
            Problem("visibility", f"visibility must be one of {', '.join(VISIBILITIES)}.", "options")
        )
    language = options.get("language")
    if language is not None and not (isinstance(language, str) and len(language) == 2 and language.isalpha()):
        found.append(Problem("language", "language must be an ISO 639-1 code such as 'en'.", "options"))
    if options.get("poll") is not None:
        found.extend(_poll_problems(options["poll"], bool(content.media), settings))
    return found


def _poll_problems(poll: Any, has_media: bool, settings: Mapping[str, Any]) -> list[Problem]:
    def problem(message: str) -> Problem:
        return Problem("poll", message, "options.poll")

    if not isinstance(poll, Mapping) or not isinstance(poll.get("options"), list):
        return [problem("poll is {options: [...], expires_in: seconds, multiple?: bool}.")]
    found = []
    choices = poll["options"]
    max_options, max_len = (
        limit(settings, "poll_max_options"),
        limit(settings, "poll_max_characters_per_option"),
    )
    if not 2 <= len(choices) <= max_options:
        found.append(problem(f"A poll has 2 to {max_options} options."))
    if any(len(str(choice)) > max_len for choice in choices):
        found.append(problem(f"Poll options are at most {max_len} characters."))
    low, high = limit(settings, "poll_min_expiration"), limit(settings, "poll_max_expiration")
    expires = poll.get("expires_in")
    if not isinstance(expires, int) or not low <= expires <= high:
        found.append(problem(f"expires_in must be {low} to {high} seconds."))
    if has_media:
        found.append(problem("Mastodon does not allow a poll and media in the same post."))
    return found
