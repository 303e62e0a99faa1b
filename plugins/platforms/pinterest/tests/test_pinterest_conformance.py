"""The Pinterest plugin passes OCMA's platform conformance kit against FakePinterest."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_pinterest import FakePinterest
from ocma_pinterest import PinterestPlatform
from pinterest_testkit import item, jpeg, platform_for

from ocma_core import PostContent
from ocma_core.testing.conformance import PlatformConformance

IMAGE_DIR = Path(__file__).parent


class TestPinterestConformance(PlatformConformance):
    """Every kit check; pins need media, so each carries a small JPEG sent inline (image_base64)."""

    rotates_refresh_tokens = False  # continuous refresh: a new refresh token each time, the old one not ended
    records_rate_limits = True

    @pytest.fixture
    def fake(self) -> Iterator[FakePinterest]:
        with FakePinterest() as server:
            yield server

    @pytest.fixture
    def platform(self, fake: FakePinterest) -> PinterestPlatform:
        return platform_for(fake)

    @pytest.fixture(autouse=True)
    def _image_dir(self, tmp_path: Path) -> None:
        self.image_dir = tmp_path

    @pytest.fixture(autouse=True)
    def _every_request_on_spec(self, fake: FakePinterest) -> Iterator[None]:
        """After each kit check: nothing the plugin sent was off Pinterest's description."""
        yield
        assert fake.state.spec_errors == []
        assert fake.state.valid_requests == len([r for r in fake.requests if r.path.startswith("/v5/")])

    def content(self, text: str, **fields: Any) -> PostContent:
        data = jpeg("teal")
        image = item(self.image_dir / f"{secrets.token_hex(4)}.jpg", data, "image/jpeg", alt="A teal square")
        return PostContent(text=text, media=[image], **fields)

    def test_every_request_was_valid_under_the_description(
        self, fake: FakePinterest, kit_platform: PinterestPlatform, ctx: Any
    ) -> None:
        """Nothing the plugin sent was refused as off-spec (the other checks run their own fakes)."""
        self.test_publish_then_delete(kit_platform, ctx, fake)
        self.test_metrics(kit_platform, ctx)
        assert fake.state.spec_errors == []
        assert fake.state.valid_requests == len([r for r in fake.requests if r.path.startswith("/v5/")])
        assert {op for op, _, _ in fake.state.checked} >= {
            "oauth/token",
            "user_account/get",
            "boards/list",
            "pins/create",
            "pins/delete",
        }
