"""Taint follows content: a post written from text that came from outside OCMA (a fetched page, platform
content) carries where that text came from until a person edits or approves it.

The agent passes the outside sources of its turn whenever it writes a post; a program's change adds to them,
a person's change (an edit over the API, the CLI or Slack; an approval) empties them. The agent shows such
posts marked in its system prompt and never acts on one without a person.
"""

from __future__ import annotations

from collections.abc import Iterable

from ocma_core.db.models import Post

MAX_SOURCES = 20


def combine(existing: Iterable[str], added: Iterable[str]) -> list[str]:
    """`existing` then the new sources of `added`, once each, at most MAX_SOURCES (the oldest kept)."""
    out: list[str] = []
    for source in [*existing, *added]:
        text = str(source)[:300]
        if text and text not in out:
            out.append(text)
    return out[:MAX_SOURCES]


def apply_change(post: Post, untrusted: list[str] | None) -> None:
    """Record who changed `post`: None for a person (the taint is cleared), else a program (the agent) whose
    turn read `untrusted` outside text (added to what the post already carries)."""
    if untrusted is None:
        post.untrusted_sources = []
    else:
        post.untrusted_sources = combine(post.untrusted_sources or [], untrusted)


def describe(post: Post) -> str:
    """e.g. `fetch_page: https://example.com` (empty for a clean post)."""
    return ", ".join(post.untrusted_sources or [])
