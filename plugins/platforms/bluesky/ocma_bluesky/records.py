"""Building app.bsky.feed.post records and their embeds, and checking post options."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ocma_bluesky.richtext import MAX_TAG_GRAPHEMES, count_graphemes, utf8_length
from ocma_core import PostContent, Problem

POST = "app.bsky.feed.post"
MAX_TEXT_BYTES = 3000
MAX_LANGS = 3
MAX_TAGS = 8
MAX_THUMB_BYTES = 1_000_000  # app.bsky.embed.external#external.thumb maxSize
# Self-labels the Bluesky app offers as content warnings (com.atproto.label.defs#selfLabels values).
SELF_LABELS = ("sexual", "nudity", "porn", "graphic-media")


def now_iso() -> str:
    """The current time as an atproto datetime (UTC, millisecond precision, Z suffix)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def languages(options: dict[str, Any]) -> list[str]:
    """BCP-47 language tags from options["langs"] (list) or options["language"] (one tag)."""
    langs = options.get("langs")
    if isinstance(langs, str):
        return [langs]
    if isinstance(langs, list):
        return [str(lang) for lang in langs]
    language = options.get("language")
    return [str(language)] if language else []


def post_record(
    text: str,
    *,
    options: dict[str, Any],
    facets: list[dict[str, Any]],
    reply: dict[str, Any] | None,
    embed: dict[str, Any] | None,
) -> dict[str, Any]:
    """An app.bsky.feed.post record (only the fields that have values)."""
    record: dict[str, Any] = {"$type": POST, "text": text, "createdAt": now_iso()}
    langs = languages(options)
    if langs:
        record["langs"] = langs
    if facets:
        record["facets"] = facets
    if reply:
        record["reply"] = reply
    if embed:
        record["embed"] = embed
    tags = options.get("tags")
    if isinstance(tags, list) and tags:
        record["tags"] = [str(tag).lstrip("#") for tag in tags]
    label = options.get("content_warning")
    if label:
        record["labels"] = {"$type": "com.atproto.label.defs#selfLabels", "values": [{"val": str(label)}]}
    return record


def strong_ref(uri: str, cid: str) -> dict[str, str]:
    """A com.atproto.repo.strongRef."""
    return {"uri": uri, "cid": cid}


def image_entry(blob: dict[str, Any], alt: str, size: tuple[int, int] | None) -> dict[str, Any]:
    """One app.bsky.embed.images#image: the blob, alt text (required, may be empty) and aspect ratio."""
    entry: dict[str, Any] = {"image": blob, "alt": alt}
    if size is not None:
        entry["aspectRatio"] = {"width": size[0], "height": size[1]}
    return entry


def images_embed(images: list[dict[str, Any]]) -> dict[str, Any]:
    """An app.bsky.embed.images embed (at most four images)."""
    return {"$type": "app.bsky.embed.images", "images": images}


def external_embed(uri: str, title: str, description: str, thumb: dict[str, Any] | None) -> dict[str, Any]:
    """An app.bsky.embed.external link card."""
    external: dict[str, Any] = {"uri": uri, "title": title, "description": description}
    if thumb is not None:
        external["thumb"] = thumb
    return {"$type": "app.bsky.embed.external", "external": external}


def option_problems(content: PostContent) -> list[Problem]:
    """Bluesky rules beyond the generic limits: bytes, languages, tags, self-labels, cards."""
    problems: list[Problem] = []
    for index, part in enumerate(content.all_parts()):
        where = "text" if index == 0 else f"thread[{index - 1}].text"
        size = utf8_length(part.text)
        if size > MAX_TEXT_BYTES:
            problems.append(
                Problem(
                    "too_long",
                    f"{size} bytes in UTF-8; Bluesky allows {MAX_TEXT_BYTES} bytes per post.",
                    where,
                )
            )
    options = content.options
    if len(languages(options)) > MAX_LANGS:
        problems.append(
            Problem("too_many_languages", f"Bluesky posts list at most {MAX_LANGS} languages.", "options")
        )
    tags = options.get("tags")
    if tags is not None:
        if not isinstance(tags, list) or len(tags) > MAX_TAGS:
            problems.append(
                Problem("too_many_tags", f"Bluesky allows at most {MAX_TAGS} extra tags.", "options")
            )
        elif any(count_graphemes(str(tag).lstrip("#")) > MAX_TAG_GRAPHEMES for tag in tags):
            problems.append(
                Problem("tag_too_long", f"Tags are at most {MAX_TAG_GRAPHEMES} graphemes.", "options")
            )
    label = options.get("content_warning")
    if label and label not in SELF_LABELS:
        problems.append(
            Problem("content_warning", f"content_warning must be one of {', '.join(SELF_LABELS)}.", "options")
        )
    card = options.get("link_card")
    if isinstance(card, dict):
        missing = [key for key in ("uri", "title", "description") if not isinstance(card.get(key), str)]
        if missing:
            problems.append(
                Problem("link_card", f"link_card needs {', '.join(missing)} (strings).", "options")
            )
    elif card not in (None, True, False):
        problems.append(
            Problem("link_card", "link_card is {uri, title, description}, true or false.", "options")
        )
    return problems
