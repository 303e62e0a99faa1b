"""The Facebook plugin passes the OCMA conformance kit against FakeFacebook."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from facebook_testkit import facebook_env
from fake_facebook import FakeFacebook
from ocma_facebook import FacebookPlatform

from ocma_core.testing.fake_graph import GraphConformance


class TestFacebookConformance(GraphConformance):
    """Every kit check, over real HTTP, as a Page the logged-in user manages.

    Facebook Login for a web app uses the app secret and no PKCE (client.pkce is False, so the kit's PKCE
    assertions do not apply; the state round trip and the secret-bearing exchange do). Facebook has no refresh
    tokens: refresh names until when the login was good and says to log in again (GraphConformance).
    """

    long_lived_refresh = False
    login_again = "log in with Facebook again"

    @pytest.fixture
    def fake(self) -> Iterator[FakeFacebook]:
        with FakeFacebook() as server:
            yield server

    @pytest.fixture
    def platform(self, fake: FakeFacebook) -> FacebookPlatform:
        return FacebookPlatform(env=facebook_env(fake))
