"""The LinkedIn plugin passes the OCMA conformance kit against FakeLinkedIn."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_linkedin import FakeLinkedIn
from linkedin_testkit import linkedin_env
from ocma_linkedin import LinkedInPlatform

from ocma_core.testing.conformance import PlatformConformance


class TestLinkedInConformance(PlatformConformance):
    """Every kit check, as a member of an approved partner app (refresh tokens; the restricted r_member_social
    to read its posts back; the member analytics scopes).

    LinkedIn does not rotate refresh tokens, and its web flow has no PKCE (client.pkce is False, so the
    kit's PKCE assertions do not apply; the state round trip and the secret-bearing code exchange do).
    """

    server_errors_may_store = True  # a 5xx on create may have stored the post: Unconfirmed

    rotates_refresh_tokens = False

    @pytest.fixture
    def fake(self) -> Iterator[FakeLinkedIn]:
        with FakeLinkedIn() as server:
            yield server

    @pytest.fixture
    def platform(self, fake: FakeLinkedIn) -> LinkedInPlatform:
        scopes = "member r_member_social r_member_postAnalytics r_member_profileAnalytics"
        return LinkedInPlatform(env=linkedin_env(fake, scopes))
