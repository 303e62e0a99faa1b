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
from dataclasses import dataclass

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


@functools.cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    tld = f"(?:(?:{_tld_alternation()})(?=[^0-9a-zA-Z@+-]|$))"
    domain = f"(?:{_SUBDOMAIN}*{_DOMAIN_NAME}(?:{tld}|{_PUNYCODE}))"
    extract = re.compile(
        f"({_PRECEDING})"  # 1: the character before the URL (consumed, as twitter-text does)
        f"((https?://)?"  # 2: the URL, 3: protocol
        f"({domain})"  # 4: host
        f"(?::([0-9]+))?"  # 5: port
        f"(/{_PATH}*)?"  # 6: path
        f"(\\?{_QUERY_CHAR}*{_QUERY_END})?)",  # 7: query
        re.IGNORECASE,
    )
    ascii_domain = re.compile(f"(?:(?:[-a-z0-9{_LATIN_ACCENTS}]+)\\.)+(?:{tld}|{_PUNYCODE})", re.IGNORECASE)
    tco = re.compile(f"^https?://t\\.co/([a-z0-9]+)(?:\\?{_QUERY_CHAR}*{_QUERY_END})?", re.IGNORECASE)
    return extract, ascii_domain, tco


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


def extract_urls(text: str, *, without_protocol: bool = True) -> list[UrlEntity]:
    """Every URL in `text` as twitter-text finds it (offsets in code points of `text`)."""
    if not text or ("." not in text if without_protocol else ":" not in text):
        return []
    extract, ascii_domain, tco = _patterns()
    found: list[UrlEntity] = []
    for match in extract.finditer(text):
        before, url, protocol, domain, path = (match.group(i) or "" for i in (1, 2, 3, 4, 6))
        start, end = match.start(2), match.end(2)
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
