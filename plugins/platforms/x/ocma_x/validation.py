"""X-specific content rules (from the createPosts request schema and X's media rules)."""

from __future__ import annotations

from typing import Any

from ocma_core import PostContent, Problem
from ocma_x.counting import CONFIG_V3, parse_text

REPLY_SETTINGS = ("following", "mentionedUsers", "subscribers", "verified")
POLL_MIN_OPTIONS, POLL_MAX_OPTIONS, POLL_OPTION_MAX_CHARS = 2, 4, 25
POLL_MIN_MINUTES, POLL_MAX_MINUTES = 5, 10080


def poll_problems(poll: Any) -> list[Problem]:
    """A poll is `{"options": [2-4 strings of 1-25 characters], "duration_minutes": 5..10080}`."""
    if not isinstance(poll, dict):
        return [
            Problem("poll_invalid", "The poll must be an object with options and duration_minutes.", "poll")
        ]
    problems: list[Problem] = []
    options = poll.get("options")
    if not isinstance(options, list) or not POLL_MIN_OPTIONS <= len(options) <= POLL_MAX_OPTIONS:
        problems.append(Problem("poll_options", "An X poll has 2 to 4 options.", "poll"))
    else:
        for option in options:
            if not isinstance(option, str) or not 1 <= len(option) <= POLL_OPTION_MAX_CHARS:
                problems.append(
                    Problem("poll_option_length", f"Poll option {option!r} must be 1-25 characters.", "poll")
                )
    minutes = poll.get("duration_minutes")
    if (
        not isinstance(minutes, int)
        or isinstance(minutes, bool)
        or not POLL_MIN_MINUTES <= minutes <= POLL_MAX_MINUTES
    ):
        problems.append(
            Problem(
                "poll_duration", "duration_minutes must be a whole number from 5 to 10080 (7 days).", "poll"
            )
        )
    unknown = set(poll) - {"options", "duration_minutes"}
    if unknown:
        problems.append(
            Problem("poll_invalid", f"Unknown poll fields: {', '.join(sorted(unknown))}.", "poll")
        )
    return problems


def x_problems(content: PostContent) -> list[Problem]:
    """Poll, reply-settings and media-combination problems of a post and its thread."""
    problems: list[Problem] = []
    options = content.options
    if "poll" in options:
        problems.extend(poll_problems(options["poll"]))
        if content.media:
            problems.append(
                Problem("poll_with_media", "An X post carries either a poll or media, not both.", "poll")
            )
    setting = options.get("reply_settings")
    if setting is not None and setting not in REPLY_SETTINGS:
        problems.append(
            Problem(
                "reply_settings", f"reply_settings must be one of {', '.join(REPLY_SETTINGS)}.", "options"
            )
        )
    for index, part in enumerate(content.all_parts()):
        parsed = parse_text(part.text)
        if part.text and not parsed.valid and 0 < parsed.weighted_length <= CONFIG_V3.max_weighted_length:
            problems.append(
                Problem(
                    "invalid_characters",
                    "The text contains characters X refuses (U+FFFE, U+FEFF or U+FFFF).",
                    "text" if index == 0 else f"thread[{index - 1}].text",
                )
            )
        where = "media" if index == 0 else f"thread[{index - 1}].media"
        gifs = [item for item in part.media if item.mime_type == "image/gif"]
        if gifs and len(part.media) > 1:
            problems.append(
                Problem("gif_alone", "An animated GIF must be the only media of an X post.", where)
            )
    return problems
