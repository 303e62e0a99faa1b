"""Aspect ratios of generated images per target platform, and picking the nearest size a model supports.

The ratios are the platforms' published guidance for a single feed image:
Instagram accepts 4:5 to 1.91:1 and 4:5 fills the most of the feed; LinkedIn's image-share guidance is
1.91:1 (1200x627); Pinterest recommends 2:3; TikTok photo posts are 9:16; X and Mastodon show a single image
in a 16:9 frame; Facebook and Threads accept 4:5 to 1.91:1 like Instagram. Bluesky keeps the image's own ratio
(`aspectRatio` on the embed), so 1:1 is used unless asked otherwise.
Sources: Meta's Instagram media requirements (4:5 to 1.91:1), LinkedIn's image-share specifications, Pinterest's
and TikTok's creative specs, the AT Protocol images embed (reference/platform-contracts.md). Every value can be
overridden per call with an explicit aspect ratio.
"""

from __future__ import annotations

import math

from ocma_core.ai.types import ImageSize
from ocma_core.errors import ValidationFailed

PLATFORM_RATIOS: dict[str, str] = {
    "instagram": "4:5",
    "facebook": "4:5",
    "threads": "4:5",
    "linkedin": "1.91:1",
    "pinterest": "2:3",
    "tiktok": "9:16",
    "x": "16:9",
    "mastodon": "16:9",
    "bluesky": "1:1",
    "youtube": "16:9",
}
DEFAULT_RATIO = "1:1"


def parse_ratio(text: str) -> float:
    """'4:5' -> 0.8 (width / height); a ValidationFailed for anything else."""
    try:
        w, h = (float(part) for part in text.split(":"))
        if w <= 0 or h <= 0:
            raise ValueError
    except ValueError:
        raise ValidationFailed(
            f"{text!r} is not an aspect ratio.", fix="Write it as WIDTH:HEIGHT, e.g. 4:5, 16:9 or 1.91:1."
        ) from None
    return w / h


def ratio_for(platform: str | None, explicit: str | None = None) -> str:
    """The aspect ratio to generate for: the explicit one, else the platform's, else 1:1."""
    if explicit:
        parse_ratio(explicit)
        return explicit
    return PLATFORM_RATIOS.get(platform or "", DEFAULT_RATIO)


def nearest(options: list[ImageSize], ratio: float) -> ImageSize:
    """The option whose ratio is closest to `ratio` (compared on a log scale, so 2:1 and 1:2 are symmetric)."""
    return min(options, key=lambda s: abs(math.log((s.width / s.height) / ratio)))


def free_size(
    ratio: float, label: str, *, pixels: int = 1024 * 1024, multiple: int = 64, lo: int = 256, hi: int = 2048
) -> ImageSize:
    """A WxH of about `pixels` pixels with the given ratio, both sides multiples of `multiple` in [lo, hi]."""
    height = math.sqrt(pixels / ratio)
    width = height * ratio

    def snap(value: float) -> int:
        return int(min(hi, max(lo, round(value / multiple) * multiple)))

    return ImageSize(snap(width), snap(height), label)


def ratio_label(width: int, height: int) -> str:
    """'1024x1536' -> '2:3' (reduced by the greatest common divisor)."""
    divisor = math.gcd(width, height) or 1
    return f"{width // divisor}:{height // divisor}"


def sized(width: int, height: int) -> ImageSize:
    """An ImageSize labelled with its own reduced ratio."""
    return ImageSize(width, height, ratio_label(width, height))
