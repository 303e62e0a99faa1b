"""Connecting needs only the account's own PDS: the AppView may not know the account yet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_bluesky import APP_PASSWORD, HANDLE, FakeBluesky, did_for
from ocma_bluesky import BlueskyPlatform

from ocma_core import AccountContext, AuthExpired, Transient
from ocma_core.testing.conformance import run


@pytest.fixture
def fake() -> Iterator[FakeBluesky]:
    with FakeBluesky() as server:
        yield server


@pytest.fixture
def platform(fake: FakeBluesky) -> BlueskyPlatform:
    return BlueskyPlatform(env={"OCMA_BLUESKY_API_BASE": fake.base_url})


def _profile(platform: BlueskyPlatform) -> tuple[str, str, str]:
    tokens = run(platform.connect_with_credentials({"handle": HANDLE, "app_password": APP_PASSWORD}))
    ctx = AccountContext(account_id="", external_id="", handle="", tokens=tokens, settings=dict(tokens.extra))
    profile = run(platform.get_profile(ctx))
    return profile.external_id, profile.handle, profile.display_name


def test_an_account_the_appview_has_not_indexed_connects(
    fake: FakeBluesky, platform: BlueskyPlatform
) -> None:
    fake.appview_unknown.add(did_for(HANDLE))  # app.bsky.actor.getProfile answers "Profile not found"

    assert _profile(platform) == (did_for(HANDLE), HANDLE, "OCMA Test")  # from the PDS's own profile record
    assert not fake.pds.requests_to("GET", "/xrpc/app.bsky.actor.getProfile")
    assert fake.pds.requests_to("GET", "/xrpc/com.atproto.repo.getRecord")


def test_a_new_account_without_a_profile_record_connects_under_its_handle(
    fake: FakeBluesky, platform: BlueskyPlatform
) -> None:
    fake.appview_unknown.add(did_for(HANDLE))
    del fake.profiles[did_for(HANDLE)]  # a new account has never written app.bsky.actor.profile/self

    assert _profile(platform) == (did_for(HANDLE), HANDLE, "")


def test_an_expired_session_while_reading_the_profile_is_a_token_problem(
    fake: FakeBluesky, platform: BlueskyPlatform
) -> None:
    tokens = run(platform.connect_with_credentials({"handle": HANDLE, "app_password": APP_PASSWORD}))
    fake.expire_tokens()
    ctx = AccountContext(account_id="", external_id="", handle="", tokens=tokens, settings=dict(tokens.extra))
    with pytest.raises(AuthExpired):
        run(platform.get_profile(ctx))


def test_an_unreachable_service_is_named_as_such(platform: BlueskyPlatform, fake: FakeBluesky) -> None:
    fields = {"handle": HANDLE, "app_password": APP_PASSWORD, "service": "http://127.0.0.1:9"}
    with pytest.raises(Transient) as info:
        run(platform.connect_with_credentials(fields))
    assert "the connection to 127.0.0.1:9 was refused" in info.value.message
