"""The X plugin passes OCMA's platform conformance kit against FakeX (public and confidential clients)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_x import CLIENT_SECRET, FakeX
from ocma_x import XPlatform
from x_test_support import platform_for

from ocma_core.testing.conformance import PlatformConformance


class TestXConformancePublicClient(PlatformConformance):
    """Every kit check, with a public OAuth client (client_id in the form)."""

    server_errors_may_store = True  # a 5xx on create may have stored the post: Unconfirmed

    @pytest.fixture
    def fake(self) -> Iterator[FakeX]:
        with FakeX() as server:
            yield server

    @pytest.fixture
    def platform(self, fake: FakeX) -> XPlatform:
        return platform_for(fake)


class TestXConformanceConfidentialClient(PlatformConformance):
    """Every kit check, with a confidential client (HTTP Basic) and the classic metric spelling."""

    server_errors_may_store = True  # a 5xx on create may have stored the post: Unconfirmed

    @pytest.fixture
    def fake(self) -> Iterator[FakeX]:
        with FakeX(confidential=True, spelling="classic") as server:
            yield server

    @pytest.fixture
    def platform(self, fake: FakeX) -> XPlatform:
        return platform_for(fake, OCMA_X_CLIENT_SECRET=CLIENT_SECRET)
