"""Metrics, rate-limit categories and the fake's own checks against Pinterest's description."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_pinterest import FakePinterest
from fake_pinterest_spec import PinterestSpec, SpecError
from ocma_pinterest import PinterestPlatform
from pinterest_testkit import item, jpeg, platform_for

from ocma_core import AccountContext, PostContent, Rejected
from ocma_core.testing.conformance import run


def _pin(platform: PinterestPlatform, ctx: AccountContext, tmp_path: Path) -> str:
    content = PostContent(text="Counted", media=[item(tmp_path / "m.jpg", jpeg(), "image/jpeg")])
    return run(platform.publish(ctx, content)).external_id


def test_pin_metrics_come_from_pin_analytics_and_lifetime_pin_metrics(
    pinterest: PinterestPlatform, pinterest_ctx: AccountContext, fake_pinterest: FakePinterest, tmp_path: Path
) -> None:
    pin_id = _pin(pinterest, pinterest_ctx, tmp_path)
    fake_pinterest.record(pin_id, IMPRESSION=120, SAVE=7, PIN_CLICK=9, OUTBOUND_CLICK=3)
    snapshot = run(pinterest.post_metrics(pinterest_ctx, pin_id))
    assert {k: snapshot.values[k] for k in ("impression", "save", "pin_click", "outbound_click")} == {
        "impression": 120, "save": 7, "pin_click": 9, "outbound_click": 3,
    }  # fmt: skip
    assert snapshot.values["lifetime.impression"] == 120 and snapshot.unavailable == ()
    query = fake_pinterest.requests_to("GET", rf"/v5/pins/{pin_id}/analytics")[0].query
    assert query["metric_types"] == "IMPRESSION,SAVE,PIN_CLICK,OUTBOUND_CLICK" and query["app_types"] == "ALL"
    assert fake_pinterest.state.spec_errors == []


def test_account_metrics_are_followers_counts_and_thirty_days_of_analytics(
    pinterest: PinterestPlatform, pinterest_ctx: AccountContext, fake_pinterest: FakePinterest, tmp_path: Path
) -> None:
    fake_pinterest.record(_pin(pinterest, pinterest_ctx, tmp_path), IMPRESSION=40, SAVE=2)
    snapshot = run(pinterest.account_metrics(pinterest_ctx))
    assert snapshot.values["follower_count"] == 0 and snapshot.values["pin_count"] == 1
    assert snapshot.values["30d.impression"] == 40 and snapshot.values["30d.save"] == 2
    assert fake_pinterest.state.spec_errors == []


def test_rate_limits_are_read_per_category(
    pinterest: PinterestPlatform, pinterest_ctx: AccountContext, tmp_path: Path
) -> None:
    pinterest_ctx.settings.pop("_rate_limits", None)
    run(pinterest.post_metrics(pinterest_ctx, _pin(pinterest, pinterest_ctx, tmp_path)))
    seen = {info.bucket: info for info in pinterest_ctx.settings["_rate_limits"]}
    assert set(seen) == {"org_write", "org_read", "org_analytics"}
    assert seen["org_write"].limit == 1000 and seen["org_write"].remaining is not None
    assert seen["org_write"].reset_at is not None


def test_declared_budgets_follow_the_access_tier(fake_pinterest: FakePinterest) -> None:
    trial = platform_for(fake_pinterest).rate_budgets
    assert trial[0].bucket == "org_write" and (trial[0].limit, trial[0].window_s) == (1000, 86400.0)
    assert any("pending" in b.bucket for b in trial)
    standard = platform_for(fake_pinterest, OCMA_PINTEREST_ACCESS_TIER="standard").rate_budgets
    assert {(b.limit, b.window_s, b.scope) for b in standard} == {(100, 1.0, "account")}


def test_the_fake_refuses_what_the_description_forbids(
    pinterest: PinterestPlatform, pinterest_ctx: AccountContext, fake_pinterest: FakePinterest
) -> None:
    with pytest.raises(Rejected, match="too long"):
        run(pinterest.call(pinterest_ctx, "POST", "/pins", "org_write", json={"title": "t" * 101}))
    with pytest.raises(Rejected, match="unknown query parameter"):
        run(pinterest.call(pinterest_ctx, "GET", "/boards", "org_read", params={"limit": "5"}))
    assert len(fake_pinterest.state.spec_errors) == 2


def test_the_description_is_the_vendored_official_one() -> None:
    spec = PinterestSpec.load()
    assert spec.version == "5.23.0"
    op = spec.operation("POST", "/pins")
    assert op.category == "org_write" and spec.required_scopes(op) == {
        "boards:read",
        "boards:write",
        "pins:read",
        "pins:write",
    }
    with pytest.raises(SpecError, match="source_type"):
        spec.check_body(op, "application/json", {"media_source": {"source_type": "image_gif", "url": "u"}})
