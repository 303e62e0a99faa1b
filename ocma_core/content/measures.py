"""Deterministic measures of a post's text, computed by our code (no model, no constants, no randomness)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

HASHTAG = re.compile(r"(?<![\w#&])#(\w+)", re.UNICODE)
MENTION = re.compile(r"(?<![\w@/])@([A-Za-z0-9_][\w.-]*(?:@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?)", re.UNICODE)
LINK = re.compile(r"\bhttps?://[^\s<>\"']+|\bwww\.[^\s<>\"']+", re.IGNORECASE)
SENTENCE_END = re.compile(r"[.!?…]+(?=\s|$)")
WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*", re.UNICODE)
VOWELS = re.compile(r"[aeiouy]+")


@dataclass
class Measure:
    """One labelled measure: its value and exactly how it was produced."""

    name: str
    value: Any
    method: str  # "computed" (our code) or "model" (judged by a language model)
    how: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def hashtags(text: str) -> list[str]:
    """Hashtags in order of appearance (with the #)."""
    return ["#" + tag for tag in HASHTAG.findall(text)]


def mentions(text: str) -> list[str]:
    """@mentions (including Mastodon @user@host and Bluesky @handle.domain)."""
    return ["@" + m.rstrip(".") for m in MENTION.findall(text)]


def links(text: str) -> list[str]:
    """http(s) and www. links, without trailing punctuation."""
    return [link.rstrip(".,;:!?)") for link in LINK.findall(text)]


def emojis(text: str) -> int:
    """Emoji count: pictographic symbols, with ZWJ sequences and modifiers counted once."""
    count, joined = 0, False
    for char in text:
        code = ord(char)
        if char == "\u200d":
            joined = True
            continue
        if 0x1F3FB <= code <= 0x1F3FF or char == "\ufe0f":
            continue
        pictographic = (
            0x1F000 <= code <= 0x1FAFF
            or 0x2600 <= code <= 0x27BF
            or 0x2B00 <= code <= 0x2BFF
            or unicodedata.category(char) == "So"
        )
        if pictographic and not joined:
            count += 1
        joined = False
    return count


def prose(text: str) -> str:
    """The text without links, hashtags and mentions (what readability should read)."""
    return MENTION.sub(" ", HASHTAG.sub(" ", LINK.sub(" ", text)))


def syllables(word: str) -> int:
    """English syllables by vowel groups (a silent final e dropped), at least one."""
    word = word.lower()
    groups = len(VOWELS.findall(word))
    if word.endswith("e") and not word.endswith(("le", "ee", "ye")) and groups > 1:
        groups -= 1
    return max(1, groups)


def readability(text: str) -> dict[str, float | int]:
    """Words, sentences, syllables and the Flesch reading ease of the prose."""
    clean = prose(text)
    words = WORD.findall(clean)
    sentences = max(1, len([s for s in SENTENCE_END.split(clean) if WORD.search(s)]))
    syllable_count = sum(syllables(w) for w in words)
    result: dict[str, float | int] = {
        "words": len(words),
        "sentences": sentences,
        "syllables": syllable_count,
    }
    if words:
        result["flesch_reading_ease"] = round(
            206.835 - 1.015 * (len(words) / sentences) - 84.6 * (syllable_count / len(words)), 1
        )
        result["words_per_sentence"] = round(len(words) / sentences, 1)
    return result
