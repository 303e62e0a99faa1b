"""The example FakeSocial plugin passes the conformance kit (which proves the kit itself)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ocma_example_platform import FakeSocialPlatform

from ocma_core.testing.conformance import PlatformConformance
from ocma_core.testing.fake_platform import CLIENT_ID, FakeSocial


class TestFakeSocialConformance(PlatformConformance):
    """Runs every kit check against FakeSocial."""

    @pytest.fixture
    def fake(self) -> Iterator[FakeSocial]:
        with FakeSocial() as server:
            yield server

    @pytest.fixture
    def platform(self, fake: FakeSocial) -> FakeSocialPlatform:
        return FakeSocialPlatform(
            env={"OCMA_FAKESOCIAL_API_BASE": fake.base_url, "OCMA_FAKESOCIAL_CLIENT_ID": CLIENT_ID}
        )
