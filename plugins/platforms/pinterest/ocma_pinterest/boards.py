"""Boards: listing an account's boards (and sections) and choosing its default board."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ocma_core import AccountContext, Rejected

if TYPE_CHECKING:
    from ocma_pinterest.platform import PinterestPlatform

MAX_PAGES = 10  # 250 boards a page: 2,500 boards is more than any account OCMA posts for


async def _pages(platform: PinterestPlatform, ctx: AccountContext, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params = {"page_size": "250"}
    for _ in range(MAX_PAGES):
        page = await platform.call(ctx, "GET", path, "org_read", params=params)
        items += [i for i in page.get("items") or [] if isinstance(i, dict)]
        if not page.get("bookmark"):
            break
        params["bookmark"] = str(page["bookmark"])
    return items


async def list_boards(
    platform: PinterestPlatform, ctx: AccountContext, *, with_sections: bool = False
) -> list[dict[str, Any]]:
    """GET /boards (every page): [{id, name, privacy}], with each board's sections when asked."""
    boards: list[dict[str, Any]] = [
        {"id": str(b["id"]), "name": str(b.get("name") or ""), "privacy": str(b.get("privacy") or "")}
        for b in await _pages(platform, ctx, "/boards")
        if b.get("id")
    ]
    if with_sections:
        for board in boards:
            board["sections"] = await sections_of(platform, ctx, board["id"])
    return boards


async def sections_of(
    platform: PinterestPlatform, ctx: AccountContext, board_id: str
) -> list[dict[str, str]]:
    """GET /boards/{id}/sections (every page): [{id, name}]."""
    sections = await _pages(platform, ctx, f"/boards/{board_id}/sections")
    return [{"id": str(s["id"]), "name": str(s.get("name") or "")} for s in sections]


def choose(boards: list[dict[str, Any]], wanted: str) -> dict[str, Any] | None:
    """The board named by id or name (case-insensitive); the only one when there is one; None otherwise.

    Rejected when `wanted` names no board, listing the boards there are."""
    if wanted:
        for board in boards:
            if wanted == board["id"] or wanted.lower() == board["name"].lower():
                return board
        listing = ", ".join(f"{b['name']} ({b['id']})" for b in boards) or "none"
        raise Rejected(f"No Pinterest board is called {wanted!r}. The account's boards: {listing}.")
    return boards[0] if len(boards) == 1 else None


def settings_for(boards: list[dict[str, Any]], wanted: str) -> dict[str, Any]:
    """Account settings after connecting: the boards listed, and the default board when one is chosen."""
    settings: dict[str, Any] = {"boards": [{"id": b["id"], "name": b["name"]} for b in boards]}
    chosen = choose(boards, wanted)
    if chosen is not None:
        settings["default_board_id"] = chosen["id"]
        settings["default_board_name"] = chosen["name"]
    return settings


def resolve(boards: list[dict[str, Any]], values: dict[str, str]) -> dict[str, Any]:
    """The stored settings for a chosen default board (and section), from the boards listed with sections."""
    wanted = values.get("default_board", "")
    board = choose(boards, wanted) if wanted else None
    if board is None:
        raise Rejected("Name the default board (its id or name): " + ", ".join(b["name"] for b in boards))
    settings: dict[str, Any] = {
        "boards": [{"id": b["id"], "name": b["name"]} for b in boards],
        "default_board_id": board["id"],
        "default_board_name": board["name"],
        "default_board_section_id": None,
    }
    section_wanted = values.get("default_board_section", "")
    if section_wanted:
        sections = board.get("sections") or []
        section = next(
            (
                s
                for s in sections
                if section_wanted in (s["id"],) or section_wanted.lower() == s["name"].lower()
            ),
            None,
        )
        if section is None:
            listing = ", ".join(f"{s['name']} ({s['id']})" for s in sections) or "none"
            raise Rejected(
                f"The board {board['name']!r} has no section {section_wanted!r}; its sections: {listing}."
            )
        settings["default_board_section_id"] = section["id"]
    return settings


def view(settings: Any) -> dict[str, Any]:
    """The default board (and section) and the boards to choose from, as a person reads them."""
    listed = [f"{b.get('name')} ({b.get('id')})" for b in settings.get("boards") or []]
    default = settings.get("default_board_id")
    shown: dict[str, Any] = {
        "default_board": f"{settings.get('default_board_name')} ({default})" if default else None,
        "boards": listed,
    }
    if settings.get("default_board_section_id"):
        shown["default_board_section"] = settings["default_board_section_id"]
    return shown
