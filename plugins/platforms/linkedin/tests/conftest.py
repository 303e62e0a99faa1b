"""Make the fake importable by module name and provide the shared LinkedIn fixtures."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_linkedin import FakeLinkedIn
from linkedin_testkit import linkedin_env
from ocma_linkedin import LinkedInPlatform


@pytest.fixture
def fake_linkedin() -> Iterator[FakeLinkedIn]:
    """A started FakeLinkedIn (a partner app: refresh tokens are issued)."""
    with FakeLinkedIn() as server:
        yield server


@pytest.fixture
def linkedin(fake_linkedin: FakeLinkedIn) -> LinkedInPlatform:
    """The plugin pointed at the fake, with member and organisation scopes."""
    return LinkedInPlatform(env=linkedin_env(fake_linkedin, "member organization"))
