"""The next-page headers of a cursor-paged listing (X-Next-Cursor and Link rel=next), and their OpenAPI text."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

NEXT_PAGE_HEADERS: dict[str, dict[str, Any]] = {
    "X-Next-Cursor": {
        "description": "Pass as `after` for the next page (absent on the last page).",
        "schema": {"type": "string"},
    },
    "Link": {"description": 'The next page\'s URL, rel="next".', "schema": {"type": "string"}},
}

CONTINUE_AFTER = "Continue after this cursor: the `X-Next-Cursor` header (or the Link header's rel=next) of the previous page"


def link_next_page(
    request: Request, response: Response, cursor: str | None, drop: tuple[str, ...] = ()
) -> None:
    """Point to the page after `cursor` (none on the last page); `drop`: query parameters the link leaves out."""
    if not cursor:
        return
    response.headers["X-Next-Cursor"] = cursor
    following = request.url.remove_query_params(drop) if drop else request.url
    response.headers["Link"] = f'<{following.include_query_params(after=cursor)}>; rel="next"'


__all__ = ["CONTINUE_AFTER", "NEXT_PAGE_HEADERS", "link_next_page"]
