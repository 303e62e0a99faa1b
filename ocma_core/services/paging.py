"""Keyset paging shared by the listings (posts, notifications): when a page has a next one, and the error
for an `after` that is not a cursor the listing gave out. Each listing encodes its own cursor."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from ocma_core.errors import ValidationFailed

T = TypeVar("T")


def next_page_cursor(page: Sequence[T], limit: int, cursor_of: Callable[[T], str]) -> str | None:
    """The cursor after the page's last row, or None when this page was the last (fewer than `limit` rows)."""
    return cursor_of(page[-1]) if page and len(page) >= limit else None


def bad_cursor(problem: str, handed_out_as: str) -> ValidationFailed:
    """The error for an `after` that no page of this listing gave out (`handed_out_as`: where pages give it)."""
    return ValidationFailed(
        "`after` is not a cursor this listing gave out.",
        problems=[{"field": "after", "message": problem}],
        fix=f"Pass the {handed_out_as} of the previous page (the Link header's rel=next), or leave it out.",
    )


__all__ = ["bad_cursor", "next_page_cursor"]
