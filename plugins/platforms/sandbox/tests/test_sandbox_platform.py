"""The sandbox platform on its own: connecting, threads, idempotency, delete, faults, no metrics, durability."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ocma_sandbox.feed import SandboxFeed
from ocma_sandbox.platform import NO_METRICS, SandboxPlatform

from ocma_core import AccountContext, Capability, PostContent, Rejected, TokenSet, Transient
from ocma_core.errors import ValidationFailed
from ocma_core.testing.conformance import run


@pytest.fixture
def platform(tmp_path: Path) -> SandboxPlatform:
    return SandboxPlatform(
        env={"OCMA_SANDBOX_DIR": str(tmp_path / "sb"), "OCMA_PUBLIC_URL": "http://ocma.example:8000/"}
    )


def connect(platform: SandboxPlatform, **fields: str) -> AccountContext:
    tokens = run(platform.connect_with_credentials(fields))
    probe = AccountContext(account_id="a", external_id="", handle="", tokens=tokens)
    profile = run(platform.get_profile(probe))
    return AccountContext(
        account_id="a", external_id=profile.external_id, handle=profile.handle, tokens=tokens
    )


def test_connects_without_credentials_as_demo_and_says_sandbox(platform: SandboxPlatform) -> None:
    tokens = run(platform.connect_with_credentials({}))
    profile = run(
        platform.get_profile(AccountContext(account_id="", external_id="", handle="", tokens=tokens))
    )
    assert profile.handle == "demo" and profile.display_name == "demo (sandbox)"
    assert profile.url == "http://ocma.example:8000/sandbox/demo"
    assert tokens.refresh_token and tokens.access_token != tokens.refresh_token


def test_the_same_name_is_the_same_account_and_names_are_checked(platform: SandboxPlatform) -> None:
    first, again = connect(platform, name="Launch"), connect(platform, name="launch")
    other = connect(platform, name="other")
    assert first.external_id == again.external_id != other.external_id
    assert first.handle == "launch"
    with pytest.raises(ValidationFailed, match="not a sandbox account name") as bad:
        run(platform.connect_with_credentials({"name": "<b>no spaces</b>"}))
    assert bad.value.fix and "-f name=" in bad.value.fix
    with pytest.raises(ValidationFailed, match="unknown field"):
        run(platform.connect_with_credentials({"name": "ok", "password": "x"}))


def test_a_thread_is_stored_whole_in_order_and_deleted_part_by_part(platform: SandboxPlatform) -> None:
    ctx = connect(platform)
    content = PostContent(text="one", thread=[PostContent(text="two"), PostContent(text="three")])
    result = run(platform.publish(ctx, content))
    assert len(result.part_ids) == 3 and result.external_id == result.part_ids[0]
    assert result.url == f"http://ocma.example:8000/sandbox/demo#post-{result.external_id}"
    [thread] = platform.feed.threads(ctx.external_id)
    assert [p.text for p in thread] == ["one", "two", "three"]
    assert [platform.feed.parent_of(i) for i in result.part_ids] == [None, *result.part_ids[:2]]
    for part_id in reversed(result.part_ids):  # as OCMA deletes: the last part first
        run(platform.delete(ctx, part_id))
    run(platform.delete(ctx, result.part_ids[0]))  # already gone: not an error
    assert platform.feed.threads(ctx.external_id) == []


def test_the_same_idempotency_key_never_stores_twice(platform: SandboxPlatform) -> None:
    ctx = connect(platform)
    content = PostContent(text="once", idempotency_key="target-1")
    first, second = run(platform.publish(ctx, content)), run(platform.publish(ctx, content))
    assert first.part_ids == second.part_ids
    assert platform.feed.texts() == ["once"]


def test_another_accounts_post_cannot_be_deleted(platform: SandboxPlatform) -> None:
    mine, theirs = connect(platform, name="mine"), connect(platform, name="theirs")
    result = run(platform.publish(theirs, PostContent(text="theirs")))
    with pytest.raises(Rejected, match="another sandbox account"):
        run(platform.delete(mine, result.external_id))
    assert platform.feed.texts() == ["theirs"]


def test_a_server_error_stores_nothing_and_a_lost_answer_is_found(platform: SandboxPlatform) -> None:
    ctx = connect(platform)
    since = datetime.now(UTC) - timedelta(seconds=1)
    platform.feed.fail_next("server_error")
    with pytest.raises(Transient):
        run(platform.publish(ctx, PostContent(text="not stored")))
    assert platform.feed.texts() == []
    platform.feed.fail_next("timeout_after_store", account_id=ctx.external_id)
    content = PostContent(text="lost answer", thread=[PostContent(text="part two")], idempotency_key="k")
    with pytest.raises(Exception, match="answer was lost"):
        run(platform.publish(ctx, content))
    found = run(platform.find_published(ctx, content, since))
    assert found is not None and len(found.part_ids) == 2
    assert platform.feed.texts() == ["lost answer", "part two"]


def test_it_produces_no_metrics_and_says_so(platform: SandboxPlatform) -> None:
    ctx = connect(platform)
    result = run(platform.publish(ctx, PostContent(text="measured?")))
    assert Capability.POST_METRICS not in platform.capabilities
    assert Capability.ACCOUNT_METRICS not in platform.capabilities
    for call in (platform.post_metrics(ctx, result.external_id), platform.account_metrics(ctx)):
        with pytest.raises(Rejected, match="sandbox produces no metrics"):
            run(call)
    assert platform.metrics_unavailable("post") == NO_METRICS


def test_the_feed_survives_a_restart(platform: SandboxPlatform, tmp_path: Path) -> None:
    ctx = connect(platform)
    run(platform.publish(ctx, PostContent(text="still here")))
    reopened = SandboxPlatform(env={"OCMA_SANDBOX_DIR": str(tmp_path / "sb"), "OCMA_PUBLIC_URL": "http://x"})
    assert run(reopened.get_profile(ctx)).handle == "demo"  # the token is still good
    assert [p.text for [p] in SandboxFeed(tmp_path / "sb" / "feed.db").threads(ctx.external_id)] == [
        "still here"
    ]


def test_the_feed_lives_in_the_data_directory_by_default(tmp_path: Path) -> None:
    platform = SandboxPlatform(env={"OCMA_DATA_DIR": str(tmp_path), "OCMA_PUBLIC_URL": "http://x"})
    connect(platform)
    assert (tmp_path / "sandbox" / "feed.db").is_file()


def test_refresh_rotates_and_tokens_are_stored_hashed(platform: SandboxPlatform) -> None:
    ctx = connect(platform)
    fresh: TokenSet = run(platform.refresh(ctx))
    assert fresh.refresh_token != ctx.tokens.refresh_token
    raw = b"".join(f.read_bytes() for f in platform.feed.path.parent.iterdir())  # the db and its WAL
    assert ctx.tokens.access_token.encode() not in raw and fresh.access_token.encode() not in raw


def test_the_page_escapes_everything_and_links_each_part_once(platform: SandboxPlatform) -> None:
    from ocma_sandbox.page import feed_page

    ctx = connect(platform)
    hostile = '"><script>alert(1)</script>'
    content = PostContent(text=hostile, thread=[PostContent(text="<i>two</i>")])
    result = run(platform.publish(ctx, content))
    account = platform.feed.account_named("demo")
    assert account is not None
    html = feed_page(account, platform.feed.threads(ctx.external_id), lambda media_id: None)
    assert "<script>" not in html and "<i>" not in html
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;i&gt;two&lt;/i&gt;" in html
    for part_id in result.part_ids:  # the URL's #post-ID anchor finds exactly one element
        assert html.count(f'id="post-{part_id}"') == 1


def test_a_lookup_lists_the_parts_up_to_the_first_missing_one(platform: SandboxPlatform) -> None:
    """A lookup says which parts exist, first part first, and stops where the reply chain breaks."""
    ctx = connect(platform)
    since = datetime.now(UTC) - timedelta(seconds=1)
    content = PostContent(text="one", thread=[PostContent(text="two"), PostContent(text="three")])
    result = run(platform.publish(ctx, content))
    run(platform.delete(ctx, result.part_ids[1]))  # the middle part is gone: "three" replies to nothing found
    found = run(platform.find_published(ctx, content, since))
    assert found is not None and found.part_ids == result.part_ids[:1] and not found.complete(content)
