"""The plugins OCMA's own project publishes, by the name a user types: the only packages an error message may
tell someone to install (suggesting `pip install ocma-<whatever was typed>` would point at names anyone could
register, typosquatting bait)."""

from __future__ import annotations

import difflib

PLATFORM_PACKAGES = {
    "x": "ocma-x",
    "linkedin": "ocma-linkedin",
    "bluesky": "ocma-bluesky",
    "mastodon": "ocma-mastodon",
    "facebook": "ocma-facebook",
    "instagram": "ocma-instagram",
    "threads": "ocma-threads",
    "tiktok": "ocma-tiktok",
    "pinterest": "ocma-pinterest",
    "sandbox": "ocma-sandbox",
}
AI_PACKAGES = {
    "litellm": "ocma-litellm",
    "openai-images": "ocma-openai-images",
    "openai": "ocma-openai-images",
    "stability": "ocma-stability",
    "runware": "ocma-runware",
}

# Inbound webhook receivers (POST /webhooks/{name}) served by integration plugins.
RECEIVER_PACKAGES = {"stripe": "ocma-stripe"}


def install_hint(name: str, known: dict[str, str], kind: str) -> str:
    """The fix for an unknown `kind` called `name`: its package when OCMA publishes one, a close known name,
    or the list of known packages; never a package made from the typed text."""
    wanted = name.strip().lower()
    if wanted in known:
        return f"Install its plugin: `pip install {known[wanted]}`, then check `ocma plugins`."
    close = difflib.get_close_matches(wanted, list(known), n=1, cutoff=0.75)
    if close:
        return f"Did you mean {close[0]!r}? Its plugin is `pip install {known[close[0]]}`; then check `ocma plugins`."
    listed = ", ".join(sorted(set(known.values())))
    return (
        f"OCMA publishes {kind} plugins {listed}; a third party's plugin is installed as its author says. "
        "Check `ocma plugins`."
    )
