"""Tag a link for click attribution: the UTM parameters docs/clicks.md reads, with the OCMA post id as
`utm_content`, added to whatever query the link already has (existing UTM values are replaced)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ocma_core.errors import ValidationFailed

UTM_MAX = 100


def tag_link(
    url: str, *, post_id: str | None = None, campaign: str = "", source: str = "", medium: str = ""
) -> str:
    """`url` with utm_campaign, utm_source, utm_medium and utm_content (the post id) set where given."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValidationFailed(f"Not an http(s) link: {url[:80]!r}.", fix="Give the full link, https://...")
    wanted = {
        "utm_campaign": campaign,
        "utm_source": source,
        "utm_medium": medium,
        "utm_content": post_id or "",
    }
    wanted = {k: v.strip() for k, v in wanted.items() if v and v.strip()}
    too_long = [k for k, v in wanted.items() if len(v) > UTM_MAX]
    if too_long:
        raise ValidationFailed(f"{', '.join(too_long)}: at most {UTM_MAX} characters.")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in wanted]
    return urlunsplit(parts._replace(query=urlencode([*query, *wanted.items()])))
