"""A post's TikTok options (`options.tiktok`), checked when the post is created or scheduled.

Everything that can be known without asking TikTok is refused here, naming the option and what it takes, so a
bad option never waits in the queue to fail in the worker. What depends on the creator now (the privacy levels
they may use, the longest video, switches they turned off) is checked against `creator_info` at publish.
"""

from __future__ import annotations

from typing import Any

from ocma_core import PostContent, Problem

PRIVACY_LEVELS = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY")
MODES = ("direct", "inbox")
SOURCES = ("FILE_UPLOAD", "PULL_FROM_URL")
FLAGS = (
    "disable_comment",
    "disable_duet",
    "disable_stitch",
    "brand_content_toggle",
    "brand_organic_toggle",
    "is_aigc",
    "auto_add_music",
)
COUNTS = ("video_cover_timestamp_ms", "photo_cover_index")
KNOWN = ("privacy_level", "mode", "source", "title", *FLAGS, *COUNTS)


def _choice(opts: dict[str, Any], name: str, choices: tuple[str, ...], default: str) -> list[Problem]:
    value = opts.get(name) or default
    if value in choices:
        return []
    return [Problem(name, f"{name} is one of {', '.join(choices)}, not {value!r}.", "options")]


def _privacy(opts: dict[str, Any]) -> list[Problem]:
    privacy = opts.get("privacy_level")
    if privacy is None:
        if str(opts.get("mode") or "direct") != "direct":
            return []
        message = (
            "TikTok requires the creator to choose who can see a post: set option privacy_level to one of "
            f"{', '.join(PRIVACY_LEVELS)} (TikTok allows no default)."
        )
        return [Problem("privacy_level_required", message, "options")]
    return _choice(opts, "privacy_level", PRIVACY_LEVELS, "")


def _typed(opts: dict[str, Any], content: PostContent) -> list[Problem]:
    problems: list[Problem] = []
    for name in FLAGS:
        if name in opts and not isinstance(opts[name], bool):
            message = f"{name} is a switch: set it to true or false (JSON), not {opts[name]!r}."
            problems.append(Problem(f"bad_{name}", message, "options"))
    for name in COUNTS:
        value = opts.get(name)
        if name in opts and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            message = f"{name} is a whole number from 0, not {value!r}."
            problems.append(Problem(f"bad_{name}", message, "options"))
    photos = [m for m in content.media if not m.is_video]
    index = opts.get("photo_cover_index")
    if photos and isinstance(index, int) and not isinstance(index, bool) and index >= len(photos):
        message = f"photo_cover_index counts from 0 and the post has {len(photos)} photo(s): use 0-{len(photos) - 1}."
        problems.append(Problem("bad_photo_cover_index", message, "options"))
    if "title" in opts and not isinstance(opts["title"], str):
        problems.append(Problem("bad_title", f"title is text, not {opts['title']!r}.", "options"))
    return problems


def problems(content: PostContent) -> list[Problem]:
    """Problems with a post's TikTok options, known without asking TikTok: unknown names, values and types."""
    opts = content.options
    found = [
        Problem(
            "unknown_option",
            f"TikTok has no option {name!r}; the TikTok options are {', '.join(KNOWN)}.",
            "options",
        )
        for name in opts
        if name not in KNOWN
    ]
    found += _choice(opts, "mode", MODES, "direct") + _privacy(opts)
    found += _choice(opts, "source", SOURCES, "FILE_UPLOAD") + _typed(opts, content)
    return found
