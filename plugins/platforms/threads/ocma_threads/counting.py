"""How Threads counts a post's 500 characters: Meta's documentation says emojis count as their UTF-8 byte
length; every other character counts as one (code points, after NFC normalisation)."""

from __future__ import annotations

import unicodedata

MAX_TEXT = 500
#: Code point ranges counted as emoji (pictographs, symbols, dingbats, flags, and their joiners/selectors).
EMOJI_RANGES = ((0x1F000, 0x1FAFF), (0x2600, 0x27BF), (0x2B00, 0x2BFF), (0xFE00, 0xFE0F), (0x200D, 0x200D))


def is_emoji(char: str) -> bool:
    """True for a code point in an emoji range."""
    point = ord(char)
    return any(low <= point <= high for low, high in EMOJI_RANGES)


def threads_length(text: str) -> int:
    """The length Threads checks against its 500-character limit."""
    return sum(len(ch.encode("utf-8")) if is_emoji(ch) else 1 for ch in unicodedata.normalize("NFC", text))
