"""Emoji sequences as twitter-text v3 counts them (each sequence weighs as one default-weight character).

The sequences follow Unicode TS #51: keycaps (`#`, `*`, digits + optional U+FE0F + U+20E3), flags
(two regional indicators), tag sequences (U+1F3F4 + tags + U+E007F), and pictographs with an optional
skin-tone modifier or U+FE0F, joined by U+200D (ZWJ). As in twitter-text's emoji table, the text-default
symbols (c), (r), TM and the chess pawn count as emoji only when followed by U+FE0F, and a stray U+FE0F is
a sequence of its own.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import regex

_TEXT_DEFAULT_NEED_VS16 = "\u00a9\u00ae\u2122\u265f"
_ELEMENT = (
    r"(?:"
    r"[#*0-9]\uFE0F?\u20E3"  # keycap
    r"|\p{Regional_Indicator}\p{Regional_Indicator}"  # flag
    r"|\U0001F3F4[\U000E0020-\U000E007E]+\U000E007F"  # subdivision flag (tag sequence)
    f"|[{_TEXT_DEFAULT_NEED_VS16}]\\uFE0F"  # text-default symbol made emoji by VS16
    f"|(?![{_TEXT_DEFAULT_NEED_VS16}])\\p{{Extended_Pictographic}}(?:\\p{{Emoji_Modifier}}|\\uFE0F)?"
    r")"
)
_SEQUENCE = f"{_ELEMENT}(?:\\u200D{_ELEMENT})*|\\uFE0F"


@dataclass(frozen=True)
class EmojiEntity:
    """One emoji sequence and its [start, end) code-point offsets."""

    text: str
    start: int
    end: int


@functools.cache
def _pattern() -> regex.Pattern[str]:
    return regex.compile(_SEQUENCE, regex.VERSION1)


def extract_emoji(text: str) -> list[EmojiEntity]:
    """Every emoji sequence in `text`."""
    return [EmojiEntity(m.group(0), m.start(), m.end()) for m in _pattern().finditer(text)]
