"""Mastodon text rules: the server's length count and plain text from a status's HTML.

Counting follows Mastodon's StatusLengthValidator (app/validators/status_length_validator.rb): the content
warning and the text share one budget, counted in extended grapheme clusters; every http(s) URL counts as
`characters_reserved_per_url` (23 by default) and a mention `@user@domain` counts as `@user`.
"""

from __future__ import annotations

import bisect
import re
from html.parser import HTMLParser

import regex

_GRAPHEME = regex.compile(r"\X")
# URLs need a scheme (the validator extracts with extract_url_without_protocol: false).
_URL = regex.compile(r"(?<![\w/])https?://[^\s<>\"]+", regex.IGNORECASE)
_URL_TRAILING = ".,;:!?'\""
# Account::MENTION_RE: @username with an optional @domain, not preceded by a word character, = or /.
_MENTION = regex.compile(
    r"(?<![=/\w])@([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@[\w]+(?:[.-]+[\w]+)*)?", regex.IGNORECASE
)
URL_CHARS = 23


def _url_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _URL.finditer(text):
        url = match.group(0)
        while url and (url[-1] in _URL_TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))):
            url = url[:-1]
        spans.append((match.start(), match.start() + len(url)))
    return spans


def countable_text(text: str, url_chars: int = URL_CHARS) -> str:
    """The text as the length validator sees it: URLs as `url_chars` x's, remote mentions as @user."""
    urls = _url_spans(text)
    pieces: list[str] = []
    last = 0
    entities: list[tuple[int, int, str]] = [(s, e, "x" * url_chars) for s, e in urls]
    starts = [s for s, _ in urls]  # URL spans come in order and never overlap
    for match in _MENTION.finditer(text):
        i = bisect.bisect_right(starts, match.start()) - 1  # the last URL starting at or before the mention
        if i < 0 or not urls[i][0] <= match.start() < urls[i][1]:
            entities.append((match.start(), match.end(), "@" + match.group(1)))
    for start, end, replacement in sorted(entities):
        if start < last:
            continue
        pieces.append(text[last:start])
        pieces.append(replacement)
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def count_status(text: str, spoiler_text: str = "", url_chars: int = URL_CHARS) -> int:
    """Length of a status as Mastodon counts it against max_characters (content warning included)."""
    if not text.strip():
        text = ""
    return len(_GRAPHEME.findall(spoiler_text + countable_text(text, url_chars)))


def count_text(text: str) -> int:
    """Length of the text alone with the default URL weight (the TextLimit counter)."""
    return count_status(text)


class _PlainText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def status_text(html: str) -> str:
    """Plain text of a status's HTML content (paragraphs and line breaks kept, tags dropped)."""
    parser = _PlainText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts).strip()


def comparable(text: str) -> str:
    """Text reduced to what survives Mastodon's rendering: mentions without domains, whitespace collapsed."""
    local = _MENTION.sub(lambda m: "@" + m.group(1), text)
    return re.sub(r"\s+", " ", local).strip()
