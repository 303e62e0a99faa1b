"""The Mastodon plugin passes the OCMA platform conformance kit against FakeMastodon."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fake_mastodon import FakeMastodon
from ocma_mastodon import MastodonPlatform

from ocma_core import AccountContext, AuthExpired, PostContent, TokenSet
from ocma_core.testing.conformance import PlatformConformance, run


class TestMastodonConformance(PlatformConformance):
    """Every kit check, over real HTTP, against one fake Mastodon server."""

    rotates_refresh_tokens = False  # Mastodon has no refresh tokens at all

    @pytest.fixture
    def fake(self) -> Iterator[FakeMastodon]:
        with FakeMastodon() as server:
            yield server

    @pytest.fixture
    def platform(self, fake: FakeMastodon, tmp_path: Path) -> MastodonPlatform:
        return MastodonPlatform(
            env={
                "OCMA_MASTODON_API_BASE": fake.base_url,
                "OCMA_DATA_DIR": str(tmp_path),
                "OCMA_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                "OCMA_MASTODON_REDIRECT_URIS": self.redirect_uri,
            }
        )

    def test_refresh_rotates_token(
        self, kit_platform: MastodonPlatform, tokens: TokenSet, fake: FakeMastodon
    ) -> None:
        """Mastodon replacement for the kit's refresh check: tokens never expire and there is no refresh.

        A revoked token answers 401, which is AuthExpired; refresh() then raises AuthExpired telling the user to
        reconnect, and a new authorisation gives a working token again.
        """
        ctx: AccountContext = self._ctx(kit_platform, tokens)
        assert tokens.refresh_token is None and tokens.expires_at is None
        fake.expire_tokens()
        with pytest.raises(AuthExpired, match="reconnect"):
            run(kit_platform.get_profile(ctx))
        with pytest.raises(AuthExpired, match="reconnect"):
            run(kit_platform.refresh(ctx))
        with pytest.raises(AuthExpired):
            run(kit_platform.publish(ctx, PostContent(text="after revocation")))
        fresh = run(self._connect(kit_platform, fake, dict(self.credentials)))
        ctx.tokens = fresh
        assert run(kit_platform.get_profile(ctx)).external_id == ctx.external_id
