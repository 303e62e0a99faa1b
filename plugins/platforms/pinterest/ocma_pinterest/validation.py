"""Pinterest's rules for a pin beyond the generic limits: title, link, alt text, board, carousel size."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ocma_core import PostContent, Problem, count_characters

TITLE_MAX, LINK_MAX, ALT_MAX = 100, 2048, 500
DIGITS = re.compile(r"^\d+$")


def pin_problems(content: PostContent) -> list[Problem]:
    """Problems with the pin's own fields (PinCreate in Pinterest's description)."""
    options = content.options
    problems: list[Problem] = []
    title = str(options.get("title") or "")
    if count_characters(title) > TITLE_MAX:
        problems.append(
            Problem(
                "title_too_long",
                f"A pin title has at most {TITLE_MAX} characters ({count_characters(title)}).",
                "title",
            )
        )
    link = str(options.get("link") or "")
    if link and not re.match(r"^https?://[^\s/]+", link):
        problems.append(Problem("bad_link", "A pin's link must be an http(s) URL.", "link"))
    if len(link) > LINK_MAX:
        problems.append(Problem("link_too_long", f"A pin's link has at most {LINK_MAX} characters.", "link"))
    alt = str(options.get("alt_text") or "")
    if count_characters(alt) > ALT_MAX:
        problems.append(
            Problem("alt_text_too_long", f"Alt text has at most {ALT_MAX} characters.", "alt_text")
        )
    for key in ("board_id", "board_section_id"):
        if options.get(key) and not DIGITS.match(str(options[key])):
            problems.append(Problem(f"bad_{key}", f"{key} is a Pinterest id (digits only).", key))
    return problems


def account_problems(content: PostContent, settings: Mapping[str, Any]) -> list[Problem]:
    """A board must be known: the post's board_id, or the account's default board."""
    if content.options.get("board_id") or settings.get("default_board_id"):
        return []
    listed = ", ".join(f"{b.get('name')} ({b.get('id')})" for b in settings.get("boards") or [])
    return [
        Problem(
            "board_required",
            "Pinterest needs a board for every pin: set the post's option board_id or the account's default "
            "board (`ocma accounts set ACCOUNT_ID default_board=NAME`)"
            f"{'; its boards: ' + listed if listed else ''}.",
            "board_id",
        )
    ]
