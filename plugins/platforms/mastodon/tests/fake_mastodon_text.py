"""Server-side pieces of FakeMastodon: status HTML rendering, the length validator, multipart parsing.

Written from Mastodon's behaviour, not shared with the plugin: the renderer imitates TextFormatter output
(paragraphs, <br />, links split into invisible/ellipsis spans, h-card mentions showing only @user,
hashtag links); the counter imitates StatusLengthValidator (graphemes of spoiler_text + text, URLs as 23,
@user@domain as @user).
"""

from __future__ import annotations

import html
import re
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import regex

_ENTITY = re.compile(
    r"(?P<url>https?://[^\s<>\"]+)"
    r"|(?<![=/\w])@(?P<user>[a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@(?P<domain>\w+(?:[.-]+\w+)*))?"
    r"|(?<![\w/])#(?P<tag>\w+)",
    re.IGNORECASE,
)


def _trim_url(url: str) -> str:
    while url and (url[-1] in ".,;:!?'\"" or (url[-1] == ")" and url.count("(") < url.count(")"))):
        url = url[:-1]
    return url


def _link(url: str) -> str:
    scheme, rest = url.split("://", 1)
    shown, hidden = (rest[:30], rest[30:]) if len(rest) > 30 else (rest, "")
    css = "ellipsis" if hidden else ""
    return (
        f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener" translate="no">'
        f'<span class="invisible">{scheme}://</span><span class="{css}">{html.escape(shown)}</span>'
        f'<span class="invisible">{html.escape(hidden)}</span></a>'
    )


def _paragraph(text: str, base: str) -> str:
    out: list[str] = []
    last = 0
    for match in _ENTITY.finditer(text):
        start, end = match.start(), match.end()
        if match.group("url"):
            url = _trim_url(match.group("url"))
            end = start + len(url)
            piece = _link(url)
        elif match.group("user"):
            user, domain = match.group("user"), match.group("domain") or base.split("://")[1]
            piece = (
                f'<span class="h-card" translate="no"><a href="https://{domain}/@{user}" '
                f'class="u-url mention">@<span>{user}</span></a></span>'
            )
        else:
            tag = match.group("tag")
            piece = f'<a href="{base}/tags/{tag.lower()}" class="mention hashtag" rel="tag">#<span>{tag}</span></a>'
        out.append(html.escape(text[last:start]).replace("\n", "<br />"))
        out.append(piece)
        last = end
    out.append(html.escape(text[last:]).replace("\n", "<br />"))
    return "".join(out)


def render(text: str, base: str) -> str:
    """Status HTML as Mastodon's TextFormatter renders plain text."""
    paragraphs = [p for p in re.split(r"\n{2,}", text.strip()) if p]
    return "".join(f"<p>{_paragraph(p, base)}</p>" for p in paragraphs)


def countable_length(text: str, spoiler_text: str, url_chars: int) -> int:
    """The validator's count: graphemes of spoiler + text with URL and mention concessions."""

    def replace(match: re.Match[str]) -> str:
        if match.group("url"):
            url = _trim_url(match.group("url"))
            return "x" * url_chars + match.group("url")[len(url) :]
        if match.group("user"):
            return "@" + match.group("user")
        return match.group(0)

    return len(regex.findall(r"\X", spoiler_text + _ENTITY.sub(replace, text)))


def multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """Fields of a multipart/form-data body: text fields as str, files as (filename, bytes, type)."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, Any] = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename is not None:
            fields[str(name)] = (filename, payload, part.get_content_type())
        else:
            fields[str(name)] = payload.decode("utf-8")
    return fields
