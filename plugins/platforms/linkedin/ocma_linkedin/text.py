"""LinkedIn's "little" text format for post commentary: escaping reserved characters and reading them back.

The Posts API stores `commentary` in the little format, where mentions (`@[Name](urn:li:person:1)`),
hashtags and templates are markup. Reserved characters that should appear as plain text must be
backslash-escaped; LinkedIn silently cuts the post at the first unescaped one.
"""

from __future__ import annotations

import re

#: Characters reserved by the little format that we escape. `#` is left alone on purpose so that
#: hashtags written as `#word` stay clickable hashtags, which is what an author means by them.
RESERVED = frozenset("()[]{}<>@|~_*\\")

#: A mention element: @[Name](urn:li:person:ID) or @[Name](urn:li:organization:ID), kept as markup.
MENTION = re.compile(r"@\[[^\]\n]{1,200}\]\(urn:li:(?:person|organization):[A-Za-z0-9_-]+\)")

MAX_COMMENTARY = 3000


def _escape_plain(text: str) -> str:
    return "".join("\\" + ch if ch in RESERVED else ch for ch in text)


def escape_commentary(text: str, *, keep_mentions: bool = True) -> str:
    """Escape `text` for the `commentary` field, leaving well-formed mention elements intact."""
    if not keep_mentions:
        return _escape_plain(text)
    out: list[str] = []
    position = 0
    for match in MENTION.finditer(text):
        out.append(_escape_plain(text[position : match.start()]))
        out.append(match.group(0))
        position = match.end()
    out.append(_escape_plain(text[position:]))
    return "".join(out)


def unescape_commentary(commentary: str) -> str:
    """The plain text of a little-format commentary: backslash escapes removed, markup kept as written."""
    out: list[str] = []
    chars = iter(commentary)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            out.append(nxt if nxt in RESERVED or nxt == "#" else "\\" + nxt)
        else:
            out.append(ch)
    return "".join(out)


def first_unescaped_reserved(commentary: str) -> int | None:
    """Index of the first reserved character that is neither escaped nor part of a mention, or None."""
    mentions = [(m.start(), m.end()) for m in MENTION.finditer(commentary)]
    index = 0
    while index < len(commentary):
        inside = next((end for start, end in mentions if start <= index < end), None)
        if inside is not None:
            index = inside
            continue
        ch = commentary[index]
        if ch == "\\":
            index += 2
            continue
        if ch in RESERVED:
            return index
        index += 1
    return None
