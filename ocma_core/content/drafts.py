"""Per-platform drafts: validated by the platform plugin itself, never truncated."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ocma_core.platforms import Capability, Platform, PostContent
from ocma_core.registry import get_platform

# Problems a text rewrite cannot fix: they are reported, but do not make the text draft invalid.
MEDIA_CODES = {
    "media_required",
    "too_many_images",
    "too_many_videos",
    "mixed_media",
    "media_type",
    "media_too_large",
    "alt_text_too_long",
    "images_unsupported",
    "video_unsupported",
}


@dataclass
class Draft:
    """A post written for one platform, with that platform's own length count and verdict."""

    platform: str
    text: str
    thread: list[str] = field(default_factory=list)
    length: int = 0
    limit: int = 0
    unit: str = "characters"
    optimum: int | None = None
    problems: list[dict[str, str]] = field(default_factory=list)
    notes: list[dict[str, str]] = field(default_factory=list)  # media needs the text cannot fix
    attempts: int = 1
    rejected: list[dict[str, Any]] = field(default_factory=list)  # earlier drafts and why they failed

    @property
    def ok(self) -> bool:
        """True when the platform's validation accepts the text (and thread)."""
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, including `ok`."""
        return {**asdict(self), "ok": self.ok}


def platforms_named(names: list[str]) -> list[Platform]:
    """The installed platforms, in order, without duplicates (an unknown name raises UnknownPlatformError)."""
    seen: dict[str, Platform] = {}
    for name in names:
        key = name.strip().lower()
        if key and key not in seen:
            seen[key] = get_platform(key)
    return list(seen.values())


def label(platform: Platform) -> str:
    """The platform's display name."""
    return platform.display_name or platform.name


def rules(platform: Platform) -> str:
    """The platform's limits in words, taken from its plugin."""
    text = platform.limits.text
    parts = [f"at most {text.max_length} {text.unit} per post as {label(platform)} counts them"]
    if text.optimum:
        parts.append(f"about {text.optimum} {text.unit} is the documented ideal")
    if Capability.THREADS in platform.capabilities and platform.limits.max_thread_length > 1:
        parts.append(
            f"threads allowed, up to {platform.limits.max_thread_length} parts, each within the limit"
        )
    else:
        parts.append("a single post, no thread")
    media = platform.limits.media
    if media.requires_media:
        parts.append("the post will carry an image or video, so the text is its caption")
    return "; ".join(parts)


def check(platform: Platform, text: str, thread: list[str] | None = None) -> Draft:
    """Validate `text` (and its thread) with the platform plugin's own rules."""
    parts = [t for t in (thread or []) if t.strip()]
    content = PostContent(text=text, thread=[PostContent(text=t) for t in parts])
    found = [p.as_dict() for p in platform.validate(content)]
    limit = platform.limits.text
    return Draft(
        platform=platform.name,
        text=text,
        thread=parts,
        length=limit.count(text),
        limit=limit.max_length,
        unit=limit.unit,
        optimum=limit.optimum,
        problems=[p for p in found if p["code"] not in MEDIA_CODES],
        notes=[p for p in found if p["code"] in MEDIA_CODES],
    )
