"""Bluesky rich text: grapheme counting and facet detection (links, mentions, hashtags) in UTF-8 bytes.

The detection follows the official client (`@atproto/api` rich-text/detection.ts and util.ts): the same
mention, URL and hashtag patterns, trailing-punctuation trimming and the 64-grapheme tag limit. Facet
offsets are UTF-8 byte offsets into the post text, end exclusive (lexicon app.bsky.richtext.facet#byteSlice).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import regex

_GRAPHEME = regex.compile(r"\X")
# (^|\s|\()(@)([a-zA-Z0-9.-]+)(\b) -- util.ts MENTION_REGEX
_MENTION = regex.compile(r"(^|\s|\()(@)([a-zA-Z0-9.-]+)(\b)")
# Only explicit http(s) links: bare domains need the full TLD list the official client ships.
_URL = regex.compile(r"(^|\s|\()(https?://\S+)", regex.IGNORECASE)
_ZW = "\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"
# util.ts TAG_REGEX: a tag needs at least one character that is not a digit, space or punctuation.
_TAG = regex.compile(rf"(^|\s)[#\uff03]((?!\ufe0f)[^\s{_ZW}]*[^0-9\s\p{{P}}{_ZW}]+[^\s{_ZW}]*)?")
_HANDLE_TLD = regex.compile(r"\.[a-zA-Z][a-zA-Z0-9-]*[a-zA-Z0-9]$")

MAX_TAG_GRAPHEMES = 64
FACET = "app.bsky.richtext.facet"


def count_graphemes(text: str) -> int:
    """Extended grapheme clusters in `text`, as Bluesky's 300-grapheme limit counts them."""
    return len(_GRAPHEME.findall(text))


def utf8_length(text: str) -> int:
    """Length of `text` in UTF-8 bytes (the record's 3,000-byte limit)."""
    return len(text.encode("utf-8"))


@dataclass(frozen=True)
class Span:
    """A detected entity: code-point offsets into the text, its kind and value (uri, handle or tag)."""

    start: int
    end: int
    kind: str  # "link", "mention" or "tag"
    value: str


def _looks_like_handle(candidate: str) -> bool:
    """A handle is a domain name: at least two labels and an alphabetic top-level label."""
    return "." in candidate.strip(".") and bool(_HANDLE_TLD.search(candidate))


def detect(text: str) -> list[Span]:
    """Mentions, links and hashtags in `text`, sorted by position."""
    spans: list[Span] = []
    for match in _MENTION.finditer(text):
        handle = match.group(3)
        if not _looks_like_handle(handle):
            continue
        start = match.start(2)
        spans.append(Span(start, start + 1 + len(handle), "mention", handle.lower()))
    for match in _URL.finditer(text):
        uri = match.group(2)
        start, end = match.start(2), match.end(2)
        if uri[-1] in ".,;!?":
            uri, end = uri[:-1], end - 1
        if uri.endswith(")") and "(" not in uri:
            uri, end = uri[:-1], end - 1
        spans.append(Span(start, end, "link", uri))
    for match in _TAG.finditer(text):
        tag = match.group(2)
        if not tag:
            continue
        tag = strip_trailing_punctuation(tag.strip())
        if not tag or count_graphemes(tag) > MAX_TAG_GRAPHEMES:
            continue
        start = match.start(1) + len(match.group(1))
        spans.append(Span(start, start + 1 + len(tag), "tag", tag))
    spans.sort(key=lambda s: s.start)
    return _without_overlaps(spans)


def strip_trailing_punctuation(text: str) -> str:
    """`text` without its trailing Unicode punctuation (util.ts trims /\\p{P}+$/), in one backward pass: the
    regex form re-scans a long punctuation run from every position (quadratic)."""
    end = len(text)
    while end and unicodedata.category(text[end - 1]).startswith("P"):
        end -= 1
    return text[:end]


def _without_overlaps(spans: list[Span]) -> list[Span]:
    kept: list[Span] = []
    for span in spans:
        if kept and span.start < kept[-1].end:
            continue
        kept.append(span)
    return kept


def byte_offset(text: str, index: int) -> int:
    """UTF-8 byte offset of code-point `index` in `text`."""
    return len(text[:index].encode("utf-8"))


Resolver = Callable[[str], Awaitable[str | None]]


async def build_facets(text: str, resolve_handle: Resolver) -> list[dict[str, Any]]:
    """Facets for every link, hashtag and resolvable mention (unresolvable mentions stay plain text)."""
    facets: list[dict[str, Any]] = []
    for span in detect(text):
        if span.kind == "mention":
            did = await resolve_handle(span.value)
            if did is None:
                continue
            feature: dict[str, Any] = {"$type": f"{FACET}#mention", "did": did}
        elif span.kind == "link":
            feature = {"$type": f"{FACET}#link", "uri": span.value}
        else:
            feature = {"$type": f"{FACET}#tag", "tag": span.value}
        facets.append(
            {
                "$type": FACET,
                "index": {"byteStart": byte_offset(text, span.start), "byteEnd": byte_offset(text, span.end)},
                "features": [feature],
            }
        )
    return facets


def first_link(text: str) -> str | None:
    """The first http(s) link in `text` (what a link card previews)."""
    for span in detect(text):
        if span.kind == "link":
            return span.value
    return None
