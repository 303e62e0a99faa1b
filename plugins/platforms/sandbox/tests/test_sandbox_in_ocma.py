"""The sandbox inside OCMA: connect over the API, publish a thread with an image through the embedded worker,
see it on /sandbox/{name} (escaped) and as JSON, delete it, and be told it produces no metrics."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ocma_core.ai.testing.png import png
from ocma_core.api.app import create_app
from ocma_core.app import Ocma
from ocma_core.app.models import Role, utcnow
from ocma_core.services.workspaces import create_api_key, create_workspace


def wait_for(predicate: Callable[[], bool], limit_s: float = 20.0) -> bool:
    """Poll until `predicate` holds (a deadline for a hung test, not a timing assertion)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def api(ocma: Ocma) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    workspace = create_workspace(ocma, "Sandbox team", timezone="Europe/Berlin", owner_email="o@example.com")
    key = create_api_key(ocma, workspace.id, role=Role.OWNER).key
    with TestClient(create_app(ocma, run_worker=True)) as client:
        yield client, {"Authorization": f"Bearer {key}"}, workspace.id


def publish(client: TestClient, auth: dict[str, str], **body: Any) -> dict[str, Any]:
    created = client.post("/v1/posts", headers=auth, json={"action": "publish_now", **body})
    assert created.status_code == 201, created.text
    post_id = created.json()["id"]
    assert wait_for(lambda: client.get(f"/v1/posts/{post_id}", headers=auth).json()["status"] == "published")
    return dict(client.get(f"/v1/posts/{post_id}", headers=auth).json())


def test_connect_publish_show_and_delete_a_thread_with_an_image(
    api: tuple[TestClient, dict[str, str], str],
) -> None:
    client, auth, _ws = api
    connected = client.post("/v1/accounts", headers=auth, json={"platform": "sandbox"})
    assert connected.status_code == 201, connected.text
    account = connected.json()
    assert (account["handle"], account["display_name"], account["status"]) == (
        "demo",
        "demo (sandbox)",
        "connected",
    )
    image = png(8, 6, (200, 30, 30))
    uploaded = client.post(
        "/v1/media",
        headers=auth,
        files={"file": ("red.png", image, "image/png")},
        data={"alt_text": "A red <box>"},
    )
    assert uploaded.status_code == 201, uploaded.text
    hostile = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    post = publish(
        client,
        auth,
        body=hostile,
        thread=["Second part", "Third part"],
        account_ids=[account["id"]],
        media_ids=[uploaded.json()["id"]],
    )
    target = post["targets"][0]
    assert target["url"].startswith("http://127.0.0.1:8000/sandbox/demo#post-")

    page = client.get("/sandbox/demo")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none': no scripts
    html = page.text
    assert "<script>" not in html and "onerror=alert(1)>" not in html
    assert (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;" in html
    )
    assert "SANDBOX" in html and "sandbox produces no metrics" in html and "thread · 3 parts" in html
    assert html.index("Second part") < html.index("Third part")
    assert 'alt="A red &lt;box&gt;"' in html
    src = re.search(r'<img src="([^"]+)"', html)
    assert src is not None
    served = client.get(src.group(1).replace("&amp;", "&"))
    assert served.status_code == 200 and served.content == image

    feed = client.get("/sandbox/demo.json").json()
    assert feed["sandbox"] is True and feed["metrics"].startswith("sandbox produces no metrics")
    [thread] = feed["threads"]
    assert [p["text"] for p in thread["parts"]] == [hostile, "Second part", "Third part"]
    assert thread["parts"][0]["media"][0]["url"].startswith("http://127.0.0.1:8000/media/")

    deleted = client.post(f"/v1/posts/{post['id']}/delete-published", headers=auth)
    assert deleted.status_code == 200, deleted.text
    assert [t["status"] for t in deleted.json()["targets"]] == ["deleted"]
    assert deleted.json()["targets"][0]["parts_deleted"] == 3
    assert client.get("/sandbox/demo.json").json()["threads"] == []
    assert "No posts yet" in client.get("/sandbox/demo").text


def test_pages_for_unknown_names_and_the_index(api: tuple[TestClient, dict[str, str], str]) -> None:
    client, auth, _ws = api
    assert (
        client.post(
            "/v1/accounts", headers=auth, json={"platform": "sandbox", "credentials": {"name": "launch"}}
        ).status_code
        == 201
    )
    missing = client.get("/sandbox/%3Cb%3Enope")
    assert missing.status_code == 404 and "&lt;b&gt;nope" in missing.text and "<b>nope" not in missing.text
    assert client.get("/sandbox/nobody.json").status_code == 404
    index = client.get("/sandbox")
    assert index.status_code == 200 and 'href="/sandbox/launch"' in index.text
    bad = client.post(
        "/v1/accounts", headers=auth, json={"platform": "sandbox", "credentials": {"name": "a b"}}
    )
    assert bad.status_code == 422 and "not a sandbox account name" in bad.text


def test_metrics_say_the_sandbox_produces_none(
    ocma: Ocma, api: tuple[TestClient, dict[str, str], str]
) -> None:
    from ocma_core.analytics.backfill import backfill

    client, auth, workspace_id = api
    account = client.post("/v1/accounts", headers=auth, json={"platform": "sandbox"}).json()
    publish(client, auth, body="Count me?", account_ids=[account["id"]])
    report = asyncio.run(backfill(ocma, workspace_id, utcnow() - timedelta(days=1)))
    assert report.posts_stored == 0 and report.accounts_stored == 0
    assert len(report.skipped) == 2
    assert all("sandbox produces no metrics" in reason for reason in report.skipped)


def test_the_agent_is_told_why_a_sandbox_post_has_no_metrics(
    ocma: Ocma, api: tuple[TestClient, dict[str, str], str]
) -> None:
    pytest.importorskip("ocma_agent")
    from datetime import UTC, datetime

    from ocma_agent.context import Caller, ToolContext
    from ocma_agent.tools.insights import post_metrics

    client, auth, workspace_id = api
    account = client.post("/v1/accounts", headers=auth, json={"platform": "sandbox"}).json()
    post = publish(client, auth, body="How did I do?", account_ids=[account["id"]])
    ctx = ToolContext(
        ocma,
        workspace_id,
        Caller("cli", user="t", role=Role.OWNER),
        "cli:t",
        "UTC",
        lambda: datetime.now(UTC),
    )

    answer = post_metrics(ctx, post["id"])

    assert answer["metrics"] == []
    [missing] = answer["no_metrics_yet"]
    assert missing["platform"] == "sandbox" and missing["why"].startswith("sandbox produces no metrics")
