"""URL detection following twitter-text's rules (what X counts as a link of `transformedURLLength`).

The rules, as twitter-text documents and implements them (extractUrlsWithIndices):
- a URL starts after a character that is not a letter, digit, `@`, `$`, `#` (or their full-width forms),
  or at the start of the text, or right after a directional marker;
- an optional `http://` / `https://`, then a host whose last label is a delegated TLD (or `xn--` punycode),
  followed by a character that is not `[0-9A-Za-z@+-]`; then an optional port, path and query with
  twitter-text's character classes (balanced parentheses allowed in the path);
- the host must survive IDNA encoding: every label 1-63 characters once punycode-encoded, the whole URL at
  most 4096 characters;
- without a protocol, only ASCII domains count, and not right after `-`, `_`, `.` or `/`;
- `t.co` links keep only their slug (max 40 characters) and query.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import re2

from ocma_x.tlds import icann_tlds

MAX_URL_LENGTH = 4096
MAX_TCO_SLUG_LENGTH = 40
DEFAULT_PROTOCOL = "https://"

_INVALID_CHARS = "\ufffe\ufeff\uffff"
_DIRECTIONAL = "\u202a-\u202e\u061c\u200e\u200f\u2066\u2067\u2068\u2069"
_SPACES = "\x09-\x0d\x20\x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_PUNCT = re.escape("!'#%&'()*+,\\-./:;<=>?@[]^_{|}~$")
_LATIN_ACCENTS = (
    "\xc0-\xd6\xd8-\xf6\xf8-\xff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b\u0263\u0268\u026f"
    "\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_CYRILLIC = "\u0400-\u04ff"

_DOMAIN_CHAR = f"[^{_PUNCT}{_SPACES}{_INVALID_CHARS}{_DIRECTIONAL}]"
_SUBDOMAIN = f"(?:(?:{_DOMAIN_CHAR}(?:[_-]|{_DOMAIN_CHAR})*)?{_DOMAIN_CHAR}\\.)"
_DOMAIN_NAME = f"(?:(?:{_DOMAIN_CHAR}(?:-|{_DOMAIN_CHAR})*)?{_DOMAIN_CHAR}\\.)"
_PUNYCODE = "(?:xn--[-0-9a-z]+)"
_PATH_CHAR = f"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\\[\\]\\-\u2013_~@|&{_LATIN_ACCENTS}]"
_BALANCED_PARENS = f"\\((?:{_PATH_CHAR}+|(?:{_PATH_CHAR}*\\({_PATH_CHAR}+\\){_PATH_CHAR}*))\\)"
_PATH_END = f"(?:[+\\-a-z{_CYRILLIC}0-9=_#/{_LATIN_ACCENTS}]|(?:{_BALANCED_PARENS}))"
_PATH = f"(?:(?:{_PATH_CHAR}*(?:{_BALANCED_PARENS}{_PATH_CHAR}*)*{_PATH_END})|(?:@{_PATH_CHAR}+/))"
_QUERY_CHAR = "[a-z0-9!?*'@();:&=+$/%#\\[\\]\\-_.,~|]"
_QUERY_END = "[a-z0-9\\-_&=#/]"
_PRECEDING = f"(?:[^A-Za-z0-9@\uff20$#\uff03{_INVALID_CHARS}]|[{_DIRECTIONAL}]|^)"
_NO_PROTOCOL_BAD_BEFORE = re.compile(r"[-_./]$")


@dataclass(frozen=True)
class UrlEntity:
    """A URL found in a text: the URL and its [start, end) code-point offsets."""

    url: str
    start: int
    end: int


def _tld_alternation() -> str:
    names = sorted(icann_tlds(), key=lambda t: (-len(t), t))
    return "|".join(re.escape(name) for name in names)


# The tail after the host: twitter-text's optional port, path and query.
_PORT = "(?::[0-9]+)"
_QUERY = f"(?:\\?{_QUERY_CHAR}*{_QUERY_END})"
_BOUNDARY = "[^0-9a-zA-Z@+\\-]"


def _path(name: str) -> str:
    return f"(?P<{name}>/{_PATH}*)"


@functools.cache
def _patterns() -> tuple[Any, re.Pattern[str], re.Pattern[str]]:
    """The extractor runs on RE2 (linear time in the text, whatever the input); the two small patterns that
    only ever see one matched URL stay on `re`.

    twitter-text's pattern checks, right after a TLD, that the next character is not `[0-9a-zA-Z@+-]` (a
    look-ahead, which RE2 lacks). The same choices, in the same order of preference, are written without it:
    after a TLD comes a non-empty port/path/query tail (each starts with `:`, `/` or `?`, which pass the
    check), else one consumed boundary character (group `stop`, not part of the URL) or the end of the text.
    The next search starts where the URL ended, so that character can still precede the next URL.
    """
    tld = f"(?:{_tld_alternation()})"
    after_tld = f"(?:{_PORT}{_path('p1')}?{_QUERY}?|{_path('p2')}{_QUERY}?|{_QUERY}|(?P<stop>{_BOUNDARY})|$)"
    extract = re2.compile(
        f"(?i)(?P<before>{_PRECEDING})"  # the character before the URL (consumed, as twitter-text does)
        f"(?P<url>(?P<protocol>https?://)?"
        f"(?P<host>{_SUBDOMAIN}*{_DOMAIN_NAME})"  # the host up to its last label
        f"(?:(?P<tld>{tld}){after_tld}"
        f"|(?P<puny>{_PUNYCODE}){_PORT}?{_path('p3')}?{_QUERY}?))",
        _OPTIONS,
    )
    tld_lookahead = f"(?:{tld}(?=[^0-9a-zA-Z@+-]|$))"
    ascii_domain = re.compile(
        f"(?:(?:[-a-z0-9{_LATIN_ACCENTS}]+)\\.)+(?:{tld_lookahead}|{_PUNYCODE})", re.IGNORECASE
    )
    tco = re.compile(f"^https?://t\\.co/([a-z0-9]+)(?:\\?{_QUERY_CHAR}*{_QUERY_END})?", re.IGNORECASE)
    return extract, ascii_domain, tco


def _options() -> Any:
    options = re2.Options()
    options.max_mem = 256 << 20  # the TLD alternation with Unicode case folding is large
    return options


_OPTIONS = _options()


def _punycode_label(label: str) -> str:
    if label.isascii():
        return label
    return "xn--" + label.encode("punycode").decode("ascii")


def _ascii_host(domain: str, ascii_domain: re.Pattern[str]) -> str | None:
    """The host as IDNA would encode it, or None when a label is empty or longer than 63 characters."""
    if domain[:4].lower() == "xn--" and not ascii_domain.search(domain):
        return None
    labels = [_punycode_label(label) for label in domain.split(".")]
    if any(not 1 <= len(label) <= 63 for label in labels):
        return None
    return ".".join(labels)


def _valid_length(url: str, protocol: str, domain: str, ascii_domain: re.Pattern[str]) -> bool:
    encoded = _ascii_host(domain, ascii_domain)
    if not encoded:
        return False
    return len(protocol) + len(url) + len(encoded) - len(domain) <= MAX_URL_LENGTH


def _group(name: str) -> int:
    """The number of a named group of the extractor (RE2's match objects take numbers only)."""
    return int(_patterns()[0].groupindex[name])


@dataclass(frozen=True)
class _Found:
    """One match of the extractor, offsets in code points."""

    before: str
    protocol: str
    domain: str
    path: str
    start: int
    end: int


def _matches(extract: Any, text: str) -> Iterator[_Found]:
    """Every match, as `re.finditer` would give them: each search starts where the previous URL ended.

    The text is encoded once and searched as UTF-8 bytes (the RE2 wrapper would re-encode a str on every
    search); one search per URL found plus the last, failing one, each linear in what it reads."""
    data = text.encode("utf-8")
    chars = [0] * (len(data) + 1)  # byte offset -> code point offset
    offset = 0
    for index, char in enumerate(text):
        width = len(char.encode("utf-8"))
        for k in range(width):
            chars[offset + k] = index
        offset += width
    chars[len(data)] = len(text)
    url, stop = _group("url"), _group("stop")
    position = 0
    while position <= len(data):
        match = extract.search(data, position)
        if match is None:
            return
        end = match.start(stop) if match.start(stop) >= 0 else match.end(url)
        yield _Found(
            before=(match.group(_group("before")) or b"").decode("utf-8"),
            protocol=(match.group(_group("protocol")) or b"").decode("utf-8"),
            domain=data[
                match.start(_group("host")) : max(match.end(_group("tld")), match.end(_group("puny")))
            ].decode("utf-8"),
            path=next(
                (match.group(_group(p)) for p in ("p1", "p2", "p3") if match.group(_group(p))), b""
            ).decode("utf-8"),
            start=chars[match.start(url)],
            end=chars[end],
        )
        position = max(end, position + 1)


def extract_urls(text: str, *, without_protocol: bool = True) -> list[UrlEntity]:
    """Every URL in `text` as twitter-text finds it (offsets in code points of `text`)."""
    if not text or ("." not in text if without_protocol else ":" not in text):
        return []
    extract, ascii_domain, tco = _patterns()
    found: list[UrlEntity] = []
    for match in _matches(extract, text):
        before, protocol, domain, path = match.before, match.protocol, match.domain, match.path
        start, end = match.start, match.end
        url = text[start:end]
        if not _valid_length(url, protocol or DEFAULT_PROTOCOL, domain, ascii_domain):
            continue
        if protocol:
            tco_match = tco.match(url)
            if tco_match:
                if len(tco_match.group(1)) > MAX_TCO_SLUG_LENGTH:
                    continue
                url, end = tco_match.group(0), start + len(tco_match.group(0))
            found.append(UrlEntity(url, start, end))
            continue
        if not without_protocol or _NO_PROTOCOL_BAD_BEFORE.search(before):
            continue
        ascii_urls = [
            UrlEntity(m.group(0), start + m.start(), start + m.end()) for m in ascii_domain.finditer(domain)
        ]
        if not ascii_urls:
            continue
        if path:
            last = ascii_urls[-1]
            ascii_urls[-1] = UrlEntity(text[last.start : end], last.start, end)
        found.extend(ascii_urls)
    return found
