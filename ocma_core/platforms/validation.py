"""Generic validation of content against a platform's declared limits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocma_core.platforms.types import Capability, PostContent, Problem

if TYPE_CHECKING:
    from ocma_core.platforms.base import Platform


def validate_against_limits(platform: Platform, content: PostContent) -> list[Problem]:
    """Check length (by the platform's own counter), media counts, types, sizes and thread length."""
    problems: list[Problem] = []
    limits = platform.limits
    label = platform.display_name or platform.name
    parts = content.all_parts()
    if len(parts) > 1 and Capability.THREADS not in platform.capabilities:
        problems.append(Problem("threads_unsupported", f"{label} does not support threads.", "thread"))
    elif len(parts) > limits.max_thread_length > 1:
        problems.append(
            Problem(
                "thread_too_long", f"{label} threads hold at most {limits.max_thread_length} parts.", "thread"
            )
        )
    for index, part in enumerate(parts):
        where = "text" if index == 0 else f"thread[{index - 1}].text"
        length = limits.text.count(part.text)
        if length > limits.text.max_length:
            problems.append(
                Problem(
                    "too_long",
                    f"{length} {limits.text.unit} as {label} counts them; the limit is "
                    f"{limits.text.max_length}. Shorten it by {length - limits.text.max_length}.",
                    where,
                )
            )
        if not part.text.strip() and not part.media:
            problems.append(Problem("empty", "The post has neither text nor media.", where))
        problems.extend(_media_problems(platform, part, index))
    return problems


def _media_problems(platform: Platform, part: PostContent, index: int) -> list[Problem]:
    rules = platform.limits.media
    label = platform.display_name or platform.name
    where = "media" if index == 0 else f"thread[{index - 1}].media"
    images = [m for m in part.media if not m.is_video]
    videos = [m for m in part.media if m.is_video]
    problems: list[Problem] = []
    if rules.requires_media and not part.media:
        problems.append(Problem("media_required", f"{label} posts need an image or a video.", where))
    if images and Capability.PUBLISH_IMAGES not in platform.capabilities:
        problems.append(Problem("images_unsupported", f"{label} does not accept images here.", where))
    if videos and Capability.PUBLISH_VIDEO not in platform.capabilities:
        problems.append(Problem("video_unsupported", f"{label} does not accept video here.", where))
    if len(images) > rules.max_images > 0:
        problems.append(
            Problem("too_many_images", f"{label} allows at most {rules.max_images} images.", where)
        )
    if len(videos) > rules.max_videos > 0:
        problems.append(
            Problem("too_many_videos", f"{label} allows at most {rules.max_videos} video.", where)
        )
    if images and videos and not rules.mix_images_and_video:
        problems.append(Problem("mixed_media", f"{label} does not mix images and video in one post.", where))
    for item in part.media:
        allowed = rules.video_types if item.is_video else rules.image_types
        limit = rules.max_video_bytes if item.is_video else rules.max_image_bytes
        if item.mime_type not in allowed:
            problems.append(
                Problem(
                    "media_type",
                    f"{item.mime_type} is not accepted by {label} ({', '.join(allowed)}).",
                    where,
                )
            )
        if item.size > limit:
            problems.append(
                Problem(
                    "media_too_large",
                    f"{item.path.name} is {item.size} bytes; {label} allows {limit}.",
                    where,
                )
            )
        if len(item.alt_text) > rules.max_alt_text:
            problems.append(
                Problem(
                    "alt_text_too_long", f"Alt text is longer than {rules.max_alt_text} characters.", where
                )
            )
    return problems
