"""Make the fake importable by module name and provide the shared LinkedIn fixtures."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_linkedin import CLIENT_ID, CLIENT_SECRET, FakeLinkedIn  # noqa: E402
from ocma_linkedin import LinkedInPlatform  # noqa: E402


def linkedin_env(fake: FakeLinkedIn, scopes: str = "member") -> dict[str, str]:
    """Environment pointing the plugin at `fake`."""
    return {
        "OCMA_LINKEDIN_API_BASE": fake.base_url,
        "OCMA_LINKEDIN_AUTH_BASE": fake.base_url,
        "OCMA_LINKEDIN_CLIENT_ID": CLIENT_ID,
        "OCMA_LINKEDIN_CLIENT_SECRET": CLIENT_SECRET,
        "OCMA_LINKEDIN_SCOPES": scopes,
    }


@pytest.fixture
def fake_linkedin() -> Iterator[FakeLinkedIn]:
    """A started FakeLinkedIn (a partner app: refresh tokens are issued)."""
    with FakeLinkedIn() as server:
        yield server


@pytest.fixture
def linkedin(fake_linkedin: FakeLinkedIn) -> LinkedInPlatform:
    """The plugin pointed at the fake, with member and organisation scopes."""
    return LinkedInPlatform(env=linkedin_env(fake_linkedin, "member organization"))
