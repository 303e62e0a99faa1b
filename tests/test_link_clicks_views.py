# ruff: noqa: F811  (the cli_run fixture is imported from cli_fixtures)
"""Where link clicks are shown: the weekly report beside the platforms' metrics of the same posts, the post
metrics API, the campaigns view, the receiver's secret over the API and the CLI (both databases)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from cli_fixtures import Run, cli_run  # noqa: F401
from fastapi.testclient import TestClient
from test_link_clicks import URL, at, clicks_host, deliver  # noqa: F401
from test_metrics_collection import publish

from ocma_core.analytics import builtin_analyzers, reports
from ocma_core.api.app import create_app
from ocma_core.clicks.secret import make_secret
from ocma_core.context import Ocma
from ocma_core.db.models import Role
from ocma_core.plugins import PluginHost, reset_host
from ocma_core.services import metrics
from ocma_core.services.workspaces import create_api_key


@pytest.fixture
def app_client(ocma: Ocma, clicks_host: PluginHost) -> Any:
    clicks_host.register(builtin_analyzers, name="builtin_analyzers")
    reset_host(clicks_host)
    with TestClient(create_app(ocma, run_worker=False)) as client:
        yield client


def _key(ocma: Ocma, workspace_id: str, role: Role = Role.ADMIN) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=role).key}"}


def test_report_and_post_api_show_clicks_beside_platform_metrics(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any, app_client: TestClient
) -> None:
    [target] = publish(ocma, workspace_id, account_id, ["Spring sale, link inside"], age=timedelta(days=2))
    fake.set_metrics(target.external_id, likes=12, reposts=3, replies=1, impressions=900)  # type: ignore[attr-defined]
    assert asyncio.run(metrics.collect_due(ocma, 50)) >= 1
    secret = make_secret(ocma, workspace_id).secret
    events = [
        {"url": URL + f"&utm_content={target.post_id}", "occurred_at": at(1), "count": 7},
        {"url": URL, "occurred_at": at(1), "count": 2},
    ]
    assert deliver(app_client, secret, {"events": events}).status_code == 200
    report = reports.build_report(ocma, workspace_id, "last-7-days")
    section = report["sections"]["clicks"]
    assert section["total"] == 9 and section["attributed_to_posts"] == 7
    [row] = section["posts"]
    assert row["post_id"] == target.post_id and row["link_clicks"] == 7
    assert row["impressions"] == 900 and row["interactions"] == 16  # the platform's, beside ours
    assert row["text"].startswith("Spring sale")
    assert "9 link clicks" in reports.render_text(report)
    assert "accounts_note" not in section
    some = reports.build_report(ocma, workspace_id, "last-7-days", account_ids=[account_id])
    assert (
        some["sections"]["clicks"]["total"] == 9
        and "whole workspace" in some["sections"]["clicks"]["accounts_note"]
    )
    headers = _key(ocma, workspace_id, Role.VIEWER)
    shown = app_client.get(f"/v1/metrics/posts/{target.post_id}/clicks", headers=headers)
    assert shown.status_code == 200 and shown.json()["link_clicks"] == 7
    assert shown.json()["snapshots"][0]["values"] == {"link_clicks": 7}
    assert app_client.get("/v1/metrics/posts/nope/clicks", headers=headers).status_code == 404
    listed = app_client.get("/v1/analytics/campaigns?period=last-7-days", headers=headers).json()
    assert [(c["utm_campaign"], c["clicks"]) for c in listed["campaigns"]] == [("spring", 9)]
    text = app_client.get("/v1/reports?period=last-7-days&format=text", headers=headers).text
    assert "Link clicks: 9 link clicks" in text


def test_the_secret_over_the_api(ocma: Ocma, workspace_id: str, app_client: TestClient) -> None:
    admin, viewer = _key(ocma, workspace_id), _key(ocma, workspace_id, Role.VIEWER)
    assert app_client.get("/v1/analytics/clicks-receiver", headers=admin).json()["configured"] is False
    assert app_client.post("/v1/analytics/clicks-receiver/secret", headers=viewer).status_code == 403
    made = app_client.post("/v1/analytics/clicks-receiver/secret", headers=admin)
    assert made.status_code == 201 and made.json()["secret"].startswith("whsec_")
    assert made.json()["url"].endswith("/webhooks/analytics")
    assert app_client.post("/v1/analytics/clicks-receiver/secret", headers=admin).status_code == 409
    rotated = app_client.post("/v1/analytics/clicks-receiver/secret?rotate=true", headers=admin).json()
    assert rotated["rotated"] is True and rotated["previous_secret_valid_until"]
    status = app_client.get("/v1/analytics/clicks-receiver", headers=admin).json()
    assert status["configured"] is True and "whsec_" not in json.dumps(status)
    assert app_client.delete("/v1/analytics/clicks-receiver", headers=admin).status_code == 204
    assert app_client.delete("/v1/analytics/clicks-receiver", headers=admin).status_code == 404


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_cli(cli_run: Run, ocma: Ocma, workspace_id: str, clicks_host: PluginHost) -> None:
    code, out, _ = cli_run("clicks", "campaigns")
    assert code == 0 and "not measured" in out
    code, out, _ = cli_run("clicks", "secret", "--json")
    assert code == 0
    secret = json.loads(out)["secret"]
    code, out, err = cli_run("clicks", "secret")
    assert code != 0 and "--rotate" in out + err
    with TestClient(create_app(ocma, run_worker=False)) as client:
        events = [{"url": URL, "occurred_at": at(1), "count": 5}]
        assert deliver(client, secret, {"events": events}).status_code == 200
    code, out, _ = cli_run("clicks", "campaigns", "--period", "last-7-days")
    assert code == 0 and "5 link clicks" in out and "spring" in out
    code, out, _ = cli_run("clicks", "campaigns", "--period", "last-7-days", "--json")
    assert json.loads(out)["total"] == 5
    code, out, _ = cli_run("clicks", "status")
    assert code == 0 and "last delivery at: 20" in out
    code, out, _ = cli_run("clicks", "remove-secret", "--yes")
    assert code == 0
    code, out, _ = cli_run("clicks", "link", "https://shop.example/a", "--post", "p1", "--campaign", "spring")
    assert (code, out.strip()) == (0, "https://shop.example/a?utm_campaign=spring&utm_content=p1")
