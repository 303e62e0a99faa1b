"""Reports, the API, the CLI and the agent's answers, built only from stored snapshots (both databases)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlmodel import col, select
from test_metrics_collection import publish

from ocma_core import MetricsSnapshot, hookimpl
from ocma_core.analytics import answers, builtin_analyzers, competitors, reports
from ocma_core.analytics.synthetic import make_posts, seed
from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.db.models import PostMetricSnapshot, Role
from ocma_core.db.types import utcnow
from ocma_core.plugins import PluginHost
from ocma_core.registry import clear_caches
from ocma_core.services import metrics
from ocma_core.services.workspaces import create_api_key


class Echo:
    """A third-party analyzer: counts the period's measured posts."""

    name = "echo"
    title = "Echo"

    def run(self, ctx: Any) -> dict[str, Any]:
        return {"posts": len(ctx.in_period), "summary": f"{len(ctx.in_period)} measured posts"}


class Broken:
    """A third-party analyzer that fails."""

    name = "broken"
    title = "Broken"

    def run(self, ctx: Any) -> dict[str, Any]:
        raise RuntimeError("boom")


class ThirdParty:
    @hookimpl
    def register_analyzers(self, register: Callable[[Any], None]) -> None:
        register(Echo())
        register(Broken())


@pytest.fixture
def analytics(plugin_host: PluginHost) -> PluginHost:
    plugin_host.register(builtin_analyzers, name="builtin_analyzers")
    plugin_host.register(ThirdParty(), name="third_party")
    clear_caches()
    return plugin_host


@pytest.fixture
def history(ocma: Ocma, workspace_id: str, account_id: str, fake: Any, analytics: PluginHost) -> list[Any]:
    """120 days of synthetic measured posts and daily follower snapshots, then two real posts collected."""
    now = utcnow()
    posts = make_posts(7, 120, account_id=account_id, start=now - timedelta(days=120), days=118)
    for i, p in enumerate(posts):
        p.text = f"Post {i} #tips" if i % 3 == 0 else f"Post {i} about things"
    followers = [(now - timedelta(days=120 - d), 1000.0 + 3 * d) for d in range(120)]
    seed(ocma, workspace_id, account_id, posts, steps=5, followers=followers, now=now)
    real = publish(ocma, workspace_id, account_id, ["Launch day!", "Quiet update"], age=timedelta(days=2))
    fake.set_metrics(real[0].external_id, likes=120, reposts=30, replies=10, impressions=4000)
    fake.set_metrics(real[1].external_id, likes=4, reposts=0, replies=1, impressions=3000)
    fake.set_followers(1400)
    assert asyncio.run(metrics.collect_due(ocma, 50)) == 3
    return real


def test_report_is_built_from_stored_snapshots(ocma: Ocma, workspace_id: str, history: list[Any]) -> None:
    report = reports.build_report(ocma, workspace_id, "last-7-days")
    sections = report["sections"]
    assert {
        "engagement",
        "growth",
        "best_time",
        "trends",
        "content",
        "experiments",
        "competitors",
        "echo",
    } <= set(sections)
    assert report["errors"] == {"broken": "RuntimeError: boom"}
    launch = next(p for p in sections["engagement"]["posts"] if p["text"] == "Launch day!")
    assert launch["interactions"] == 160 and launch["metrics"]["impressions"] == 4000
    assert launch["rate"] == pytest.approx(0.04) and launch["rate_name"] == "interactions per impression"
    assert launch["interactions_counted"] == ["likes", "reposts", "replies"]
    with ocma.session() as session:  # every figure traceable to its snapshot
        snap = session.get(PostMetricSnapshot, launch["snapshot_id"])
        assert snap is not None and snap.values["likes"] == 120
    top = sections["engagement"]["top_posts"][0]
    assert top["text"] == "Launch day!" and top["vs_account_typical"] > 1
    assert sections["engagement"]["bottom_posts"][0]["text"] == "Quiet update"
    best = sections["best_time"]["accounts"][0]
    assert (
        best["n_posts"] >= 100
        and len(best["top"]) == 3
        and best["basis"] in ("measured", "no_measured_effect")
    )
    if (
        best["basis"] != "measured"
    ):  # nothing measured: the benchmark is a named reference, with no lift figure
        assert best["reference"]["kind"] == "published_benchmark" and {s["lift"] for s in best["top"]} == {
            1.0
        }
    growth = sections["growth"]["accounts"][0]["followers"]
    assert growth["change"] > 0 and len(growth["snapshots"]) == 2
    assert sections["echo"]["posts"] == len(sections["engagement"]["posts"])
    text = reports.render_text(report)
    assert "Report for last 7 days" in text and "Launch day!" in text and "broken: failed" in text
    csv_text = reports.to_csv(reports.export_rows(ocma, workspace_id, "last-7-days"))
    assert csv_text.splitlines()[0].startswith("published_at,account,platform")
    assert len(csv_text.splitlines()) == 1 + len(sections["engagement"]["posts"])


def test_charts_are_png(ocma: Ocma, workspace_id: str, history: list[Any]) -> None:
    from ocma_core.analytics import charts
    from ocma_core.analytics.base import make_context

    ctx = make_context(ocma, workspace_id, reports.resolve_period(ocma, workspace_id, "last-30-days"))
    for kind in charts.KINDS:
        assert charts.render(ctx, kind).startswith(b"\x89PNG\r\n\x1a\n")


def test_agent_answers_come_from_the_snapshots(ocma: Ocma, workspace_id: str, history: list[Any]) -> None:
    summary = answers.performance_summary(ocma, workspace_id, "last-7-days")
    assert "Launch day!" in summary and "interactions" in summary
    best = answers.best_time_answer(ocma, workspace_id, platform="fakesocial")
    nxt = answers.next_best_time(ocma, workspace_id, [history[0].account_id])
    assert nxt["timezone"] == "Europe/Berlin" and nxt["basis"] in ("measured", "no_measured_effect")
    if nxt["basis"] == "measured":
        assert "90% interval" in best and "Top slots" in best
        assert datetime.fromisoformat(nxt["at"]) > utcnow() and nxt["expected_lift"] > 1
    else:
        assert "no measurable difference" in best and "Top slots" not in best
        assert nxt["at"] is None and nxt["expected_lift"] is None


def test_api_serves_reports_predictions_and_experiments(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any, history: list[Any]
) -> None:
    auth = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.EDITOR).key}"}
    with TestClient(create_app(ocma, run_worker=False)) as client:
        data = client.get("/v1/reports", params={"period": "last-7-days"}, headers=auth)
        assert data.status_code == 200, data.text
        assert data.json()["sections"]["engagement"]["top_posts"][0]["text"] == "Launch day!"
        text = client.get("/v1/reports", params={"period": "last-7-days", "format": "text"}, headers=auth)
        assert text.status_code == 200 and "Launch day!" in text.text
        csv_rows = client.get("/v1/analytics/export", params={"period": "last-7-days"}, headers=auth)
        assert csv_rows.headers["content-type"].startswith("text/csv") and "Quiet update" in csv_rows.text
        png = client.get(
            "/v1/reports/chart.png", params={"kind": "best_times", "account_id": account_id}, headers=auth
        )
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
        best = client.get("/v1/analytics/best-times", params={"platform": "fakesocial"}, headers=auth).json()
        assert (
            best[0]["top"][0]["lift_interval"][0]
            <= best[0]["top"][0]["lift"]
            <= best[0]["top"][0]["lift_interval"][1]
        )
        prediction = client.post(
            "/v1/analytics/predict",
            headers=auth,
            json={"account_id": account_id, "text": "New #tips for you", "media_count": 1},
        )
        body = prediction.json()
        assert (
            body["can_predict"]
            and body["backtest"]["posts_predicted"] > 0
            and body["basis"] in ("model", "baseline")
        )
        names = {a["name"] for a in client.get("/v1/analytics/analyzers", headers=auth).json()}
        assert {"best_time", "prediction", "echo"} <= names
        snaps = client.get(f"/v1/metrics/posts/{history[0].post_id}", headers=auth).json()
        assert snaps[0]["values"]["likes"] == 120 and snaps[0]["source"] == "poll"
        collected = client.post("/v1/metrics/collect", headers=auth).json()
        assert collected["stored"] == 0 and collected["failed"] == 0
        unknown = client.get("/v1/reports", params={"period": "someday"}, headers=auth)
        assert unknown.status_code in (400, 422) and "last-week" in unknown.text


def test_an_experiment_is_published_measured_and_decided(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any, history: list[Any]
) -> None:
    from tests_support import run_worker

    from ocma_core.analytics import experiments
    from ocma_core.db.models import Target, TargetStatus

    soon = utcnow() + timedelta(seconds=1)
    exp = experiments.create_experiment(
        ocma,
        workspace_id,
        "Headline test",
        [
            experiments.VariantSpec("A", "Plain headline", scheduled_at=soon),
            experiments.VariantSpec("B", "Bold headline!", scheduled_at=soon),
        ],
        account_ids=[account_id],
        hypothesis="Bold wins",
    )
    post_ids = [v.post_id for v in experiments.variants_of(ocma, exp.id)]

    def published() -> bool:
        with ocma.session() as s:
            rows = s.exec(select(Target).where(col(Target.post_id).in_(post_ids))).all()
            return all(t.status is TargetStatus.PUBLISHED for t in rows)

    run_worker(ocma, published)
    assert experiments.evaluate(ocma, workspace_id, exp.id)["status"] == "collecting"
    with ocma.session() as s:
        targets = {
            t.post_id: t for t in s.exec(select(Target).where(col(Target.post_id).in_(post_ids))).all()
        }
        for t in targets.values():
            t.published_at = utcnow() - timedelta(hours=25)  # collected just after the 24 h horizon
            s.add(t)
        externals = {pid: t.external_id for pid, t in targets.items()}
    fake.set_metrics(externals[post_ids[0]], likes=20, impressions=10_000)
    fake.set_metrics(externals[post_ids[1]], likes=400, reposts=50, impressions=10_000)
    asyncio.run(metrics.collect_due(ocma, 50))
    result = experiments.evaluate(ocma, workspace_id, exp.id)
    assert result["status"] == "winner" and result["winner"] == "B"
    assert result["variance_source"].startswith("the accounts' last") and "Bonferroni" in result["rule"]
    assert result["horizon_hours"] == 24 and result["units"]["B"][0]["at_age_hours"] == 24
    assert experiments.get_experiment(ocma, workspace_id, exp.id).status == "decided"
    assert result["units"]["B"][0]["snapshot_id"]


def test_competitors_are_read_where_the_api_allows_and_compared(
    ocma: Ocma,
    workspace_id: str,
    account_id: str,
    fake: Any,
    analytics: PluginHost,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ocma_example_platform import FakeSocialPlatform

    from ocma_core.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="cannot read other accounts"):
        competitors.add_competitor(ocma, workspace_id, "fakesocial", "rival", account_id)

    async def public_account_metrics(self: Any, ctx: Any, handle: str) -> MetricsSnapshot:
        response = await self.send(
            "GET",
            f"{self.api_base}/v1/users/{handle}",
            headers={"Authorization": f"Bearer {ctx.tokens.access_token}"},
        )
        self.raise_for_status(response)
        body = response.json()
        return MetricsSnapshot(
            values={k: float(body[k]) for k in ("followers", "following", "posts")},
            fetched_at=datetime.now(UTC),
        )

    monkeypatch.setattr(FakeSocialPlatform, "public_account_metrics", public_account_metrics, raising=False)
    fake.add_public_account("rival", followers=5000, following=10, posts=300)
    fake.set_followers(900)
    rival = competitors.add_competitor(ocma, workspace_id, "fakesocial", "@rival", account_id)
    assert rival.handle == "rival"
    assert asyncio.run(metrics.collect_due(ocma, 10)) == 2  # the competitor and our account
    fake.add_public_account("rival", followers=5100, following=10, posts=307)
    asyncio.run(
        competitors.fetch_competitor(
            ocma, rival.id, FakeSocialPlatform(env={"OCMA_FAKESOCIAL_API_BASE": fake.base_url})
        )
    )
    rows = competitors.compare(
        ocma, workspace_id, utcnow() - timedelta(days=1), utcnow() + timedelta(minutes=1)
    )
    theirs = next(r for r in rows if r["kind"] == "competitor")
    ours = next(r for r in rows if r["kind"] == "ours")
    assert theirs["followers"] == 5100 and theirs["followers_change"] == 100 and theirs["snapshots"] == 2
    assert ours["followers"] == 900 and "followers_change" in ours
    assert math.isclose(theirs["followers_change_percent"], 2.0)


def test_cli_report_and_metrics(
    ocma: Ocma, workspace_id: str, history: list[Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from ocma_core.cli.main import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OCMA_DATABASE_URL", ocma.settings.resolved_database_url)
    monkeypatch.setenv("OCMA_ENCRYPTION_KEYS", ocma.settings.encryption_keys or "")
    monkeypatch.setenv("OCMA_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    out = runner.invoke(cli, ["report", "--period", "last-7-days", "--chart", "followers", "--out", "f.png"])
    assert out.exit_code == 0, out.output
    assert "Launch day!" in out.output and (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")
    as_json = runner.invoke(cli, ["report", "--period", "last-7-days", "--format", "json"])
    assert as_json.exit_code == 0 and '"sections"' in as_json.output
    collected = runner.invoke(cli, ["metrics", "collect"])
    assert collected.exit_code == 0 and "Stored 0 snapshots" in collected.output
    best = runner.invoke(cli, ["metrics", "best-time", "--platform", "fakesocial"])
    assert (
        best.exit_code == 0 and "no measurable difference" in best.output
    )  # the history has no timing effect
    backfill = runner.invoke(
        cli, ["metrics", "backfill", "--since", (utcnow() - timedelta(days=3)).date().isoformat()]
    )
    # the two real posts are served again; seeded synthetic posts do not exist on the fake and are skipped
    assert (
        backfill.exit_code == 0
        and "2 post snapshots for" in backfill.output
        and "1 account" in backfill.output
    )
    account = history[0].account_id
    imported = runner.invoke(cli, ["metrics", "import-history", account, "--since", "30d"])
    assert imported.exit_code == 0, imported.output
    assert "2 past posts listed, 0 new" in imported.output  # both are OCMA's own posts already
    refused = runner.invoke(cli, ["metrics", "import-history", "no-such-account"])
    assert refused.exit_code != 0


def test_a_post_deleted_since_keeps_its_last_metrics_marked(
    ocma: Ocma, workspace_id: str, history: list[Any]
) -> None:
    from ocma_core.services.deletion import delete_published_sync

    launch = history[0]
    results = delete_published_sync(ocma, workspace_id, launch.post_id)
    assert [r.status for r in results] == ["deleted"]
    report = reports.build_report(ocma, workspace_id, "last-7-days")
    rows = {p["text"]: p for p in report["sections"]["engagement"]["posts"]}
    assert rows["Launch day!"]["interactions"] == 160  # the last collected snapshot, still traceable
    assert rows["Launch day!"]["deleted"].startswith("deleted from the platform since")
    assert "deleted" not in rows["Quiet update"]
    assert '"Launch day!" (deleted since)' in reports.render_text(report)
