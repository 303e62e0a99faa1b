"""The four platform plugins' own fakes, described uniformly for the core's end-to-end tests (no fixtures).

Each `PlatformFake` knows how to start its plugin's fake server, which OCMA_<NAME>_* variables point the
registry's platform instance at it, how a user connects an account through the core (OAuth consent at the
fake, or an app password), and how to read back what the fake holds (ids, texts, reply parents).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocma_core.context import Ocma
from ocma_core.services import accounts

PLATFORMS_DIR = Path(__file__).resolve().parents[1] / "plugins" / "platforms"
for _name in ("x", "linkedin", "bluesky", "mastodon"):
    _tests = str(PLATFORMS_DIR / _name / "tests")
    if _tests not in sys.path:
        sys.path.insert(0, _tests)

import fake_bluesky  # noqa: E402
import fake_linkedin  # noqa: E402
import fake_mastodon  # noqa: E402
import fake_x  # noqa: E402

__all__ = [
    "FAKES",
    "Held",
    "PlatformFake",
    "connect_oauth",
    "fake_bluesky",
    "fake_linkedin",
    "fake_mastodon",
    "fake_x",
]


@dataclass(frozen=True)
class Held:
    """One post as the fake stores it: its platform id, text and the id of the post it replies to."""

    external_id: str
    text: str
    reply_to: str | None


@dataclass(frozen=True)
class PlatformFake:
    """How to run one platform end to end against its plugin's fake."""

    name: str
    plugin: str
    make: Callable[[], Any]
    env: Callable[[Any, Path], dict[str, str]]
    connect: Callable[[Ocma, str, Any], str]
    held: Callable[[Any], list[Held]]
    post_url: Callable[[Any, str], str]


def connect_oauth(ocma: Ocma, workspace_id: str, name: str, fake: Any) -> str:
    """Connect as a user would: the core's consent URL, approval at the fake, the core's callback."""
    url = accounts.start_connect(ocma, workspace_id, name)
    code, state = fake.authorize(url)
    account = asyncio.run(accounts.complete_connect(ocma, name, state=state, code=code))
    return account.id


# ----- X -----------------------------------------------------------------------------------------------
def _x_env(fake: Any, _data: Path) -> dict[str, str]:
    return {
        "OCMA_X_API_BASE": fake.base_url,
        "OCMA_X_AUTH_BASE": fake.base_url,
        "OCMA_X_CLIENT_ID": fake_x.CLIENT_ID,
        "OCMA_X_CONSUMER_SECRET": fake_x.CONSUMER_SECRET,
    }


def _x_held(fake: Any) -> list[Held]:
    with fake.lock:
        posts = list(fake.state.posts.values())
    return [Held(p["id"], p["source_text"], p["reply_to"]) for p in posts]


# ----- LinkedIn ----------------------------------------------------------------------------------------
def _linkedin_env(fake: Any, _data: Path) -> dict[str, str]:
    return {
        "OCMA_LINKEDIN_API_BASE": fake.base_url,
        "OCMA_LINKEDIN_AUTH_BASE": fake.base_url,
        "OCMA_LINKEDIN_CLIENT_ID": fake_linkedin.CLIENT_ID,
        "OCMA_LINKEDIN_CLIENT_SECRET": fake_linkedin.CLIENT_SECRET,
        "OCMA_LINKEDIN_SCOPES": "member",
    }


def _linkedin_held(fake: Any) -> list[Held]:
    texts = fake.published_texts()  # commentary with LinkedIn's "little" escapes removed
    with fake.lock:
        urns = list(fake.state.posts)
    return [Held(urn, text, None) for urn, text in zip(urns, texts, strict=True)]


# ----- Bluesky -----------------------------------------------------------------------------------------
def _bluesky_env(fake: Any, _data: Path) -> dict[str, str]:
    return {"OCMA_BLUESKY_API_BASE": fake.base_url, "OCMA_BLUESKY_LINK_CARDS": "off"}


def _bluesky_connect(ocma: Ocma, workspace_id: str, fake: Any) -> str:
    # "service" is named although the plugin calls it optional: the core requires every credential field
    # today (see test_bluesky_connects_with_handle_and_app_password_only).
    fields = {
        "handle": fake_bluesky.HANDLE,
        "app_password": fake_bluesky.APP_PASSWORD,
        "service": fake.base_url,
    }
    account = asyncio.run(accounts.connect_with_credentials(ocma, workspace_id, "bluesky", fields))
    return account.id


def _bluesky_held(fake: Any) -> list[Held]:
    return [
        Held(r["uri"], r["value"]["text"], ((r["value"].get("reply") or {}).get("parent") or {}).get("uri"))
        for r in fake.stored()
    ]


# ----- Mastodon ----------------------------------------------------------------------------------------
def _mastodon_env(fake: Any, data: Path) -> dict[str, str]:
    from cryptography.fernet import Fernet

    # The plugin encrypts its app registrations with the vault the environment configures.
    key = Fernet.generate_key().decode()
    return {"OCMA_MASTODON_API_BASE": fake.base_url, "OCMA_DATA_DIR": str(data), "OCMA_ENCRYPTION_KEYS": key}


def _mastodon_held(fake: Any) -> list[Held]:
    with fake.lock:
        statuses = list(fake.statuses.values())
    return [Held(s["id"], s["text"], s["in_reply_to_id"]) for s in statuses]


FAKES: dict[str, PlatformFake] = {
    "x": PlatformFake(
        name="x",
        plugin="ocma_x",
        make=fake_x.FakeX,
        env=_x_env,
        connect=lambda ocma, ws, fake: connect_oauth(ocma, ws, "x", fake),
        held=_x_held,
        post_url=lambda fake, eid: f"https://x.com/{fake_x.USERNAME}/status/{eid}",
    ),
    "linkedin": PlatformFake(
        name="linkedin",
        plugin="ocma_linkedin",
        make=fake_linkedin.FakeLinkedIn,
        env=_linkedin_env,
        connect=lambda ocma, ws, fake: connect_oauth(ocma, ws, "linkedin", fake),
        held=_linkedin_held,
        post_url=lambda fake, eid: f"https://www.linkedin.com/feed/update/{eid}/",
    ),
    "bluesky": PlatformFake(
        name="bluesky",
        plugin="ocma_bluesky",
        make=fake_bluesky.FakeBluesky,
        env=_bluesky_env,
        connect=_bluesky_connect,
        held=_bluesky_held,
        post_url=lambda fake, eid: (
            f"https://bsky.app/profile/{fake_bluesky.HANDLE}/post/{eid.rsplit('/', 1)[1]}"
        ),
    ),
    "mastodon": PlatformFake(
        name="mastodon",
        plugin="ocma_mastodon",
        make=fake_mastodon.FakeMastodon,
        env=_mastodon_env,
        connect=lambda ocma, ws, fake: connect_oauth(ocma, ws, "mastodon", fake),
        held=_mastodon_held,
        post_url=lambda fake, eid: f"{fake.base_url}/@{fake_mastodon.USERNAME}/{eid}",
    ),
}
