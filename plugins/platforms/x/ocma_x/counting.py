"""twitter-text's weighted length (parseTweet): how X counts a post's characters.

The text is NFC-normalised; each URL weighs `transformedURLLength`; with emoji parsing (config v3) each emoji
sequence weighs `defaultWeight`; any other code point weighs its range's weight (or `defaultWeight`).
Offsets in the result are UTF-16 code units of the original text, as in twitter-text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ocma_x.emoji import extract_emoji
from ocma_x.urls import extract_urls

_INVALID = frozenset("\ufffe\ufeff\uffff")


@dataclass(frozen=True)
class WeightRange:
    """Code points start..end (inclusive) weigh `weight`."""

    start: int
    end: int
    weight: int


@dataclass(frozen=True)
class TextConfig:
    """A twitter-text configuration (config/v2.json, config/v3.json)."""

    version: int
    max_weighted_length: int
    scale: int
    default_weight: int
    transformed_url_length: int
    ranges: tuple[WeightRange, ...]
    emoji_parsing: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TextConfig:
        """Build from twitter-text's JSON configuration format."""
        return cls(
            version=int(data["version"]),
            max_weighted_length=int(data["maxWeightedTweetLength"]),
            scale=int(data["scale"]),
            default_weight=int(data["defaultWeight"]),
            transformed_url_length=int(data["transformedURLLength"]),
            ranges=tuple(
                WeightRange(int(r["start"]), int(r["end"]), int(r["weight"])) for r in data["ranges"]
            ),
            emoji_parsing=bool(data.get("emojiParsingEnabled", False)),
        )

    def weight(self, code_point: int) -> int:
        """The scaled weight of one code point."""
        for item in self.ranges:
            if item.start <= code_point <= item.end:
                return item.weight
        return self.default_weight


#: twitter-text config v3, the one X uses (280 weighted characters, emoji count 2, URLs 23).
CONFIG_V3 = TextConfig(
    version=3,
    max_weighted_length=280,
    scale=100,
    default_weight=200,
    transformed_url_length=23,
    ranges=(
        WeightRange(0, 4351, 100),
        WeightRange(8192, 8205, 100),
        WeightRange(8208, 8223, 100),
        WeightRange(8242, 8247, 100),
    ),
    emoji_parsing=True,
)


@dataclass(frozen=True)
class ParseResult:
    """parseTweet's answer."""

    weighted_length: int
    valid: bool
    permillage: int
    display_range_start: int
    display_range_end: int
    valid_range_start: int
    valid_range_end: int


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_text(text: str, config: TextConfig = CONFIG_V3) -> ParseResult:
    """Weighted length, validity and display/valid ranges of `text` under `config`."""
    normalized = unicodedata.normalize("NFC", text)
    entities: dict[int, int] = {}  # start -> end of a URL or emoji, both weighed as one unit
    url_starts: set[int] = set()
    for url in extract_urls(normalized):
        entities[url.start] = url.end
        url_starts.add(url.start)
    if config.emoji_parsing:
        for emoji in extract_emoji(normalized):
            entities.setdefault(emoji.start, emoji.end)
    limit = config.max_weighted_length * config.scale
    weighted = 0
    valid = True
    valid_end = 0  # code-point offset just past the last character within the limit
    index = 0
    while index < len(normalized):
        end = entities.get(index)
        if end is not None:
            weighted += config.transformed_url_length * config.scale if index in url_starts else 0
            weighted += config.default_weight if index not in url_starts else 0
        else:
            end = index + 1
            weighted += config.weight(ord(normalized[index]))
        if valid:
            valid = normalized[end - 1] not in _INVALID
        if valid and weighted <= limit:
            valid_end = end
        index = end
    length = weighted // config.scale
    offset = _utf16_len(text) - _utf16_len(normalized)
    last_valid = max(_utf16_len(normalized[:valid_end]) - 1, 0)
    return ParseResult(
        weighted_length=length,
        valid=valid and 0 < length <= config.max_weighted_length,
        permillage=length * 1000 // config.max_weighted_length,
        display_range_start=0,
        display_range_end=max(_utf16_len(text) - 1, 0),
        valid_range_start=0,
        valid_range_end=last_valid + offset,
    )


def weighted_length(text: str) -> int:
    """The weighted length X (twitter-text v3) gives `text`."""
    return parse_text(text).weighted_length
