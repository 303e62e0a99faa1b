# ruff: noqa: F811  (pytest fixtures imported from ai_fixtures)
"""Adapt, optimise and score, through the API and the services, with the platform plugins' own rules."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from ai_fixtures import ai_env, ai_host, ai_workspace, fake_openai  # noqa: F401
from fastapi.testclient import TestClient

from ocma_core.ai import AIBadOutput
from ocma_core.ai.testing.fake_openai import FakeOpenAI
from ocma_core.ai.testing.scripted import DEFAULT_TEXT, ContentModel
from ocma_core.content.measures import emojis, hashtags, links, mentions, readability
from ocma_core.content.score import computed, score
from ocma_core.context import Ocma
from ocma_core.registry import get_platform, get_platforms

POST = "Join our free webinar on Tuesday at 17:00 CET: https://example.com/webinar #Webinar"


@pytest.fixture
def http(ocma: Ocma, ai_workspace: str) -> Any:
    from ocma_core.api.app import create_app
    from ocma_core.db.models import Role
    from ocma_core.services.workspaces import create_api_key

    key = create_api_key(ocma, ai_workspace, role=Role.EDITOR).key
    with TestClient(create_app(ocma, run_worker=False)) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        yield client


def need(*names: str) -> None:
    missing = [n for n in names if n not in get_platforms()]
    if missing:
        pytest.skip(f"platform plugins not installed: {', '.join(missing)}")


def test_adapt_validates_each_platform_and_repairs_threads_where_not_allowed(
    http: TestClient, fake_openai: FakeOpenAI
) -> None:
    need("x", "linkedin")
    model = ContentModel(
        threads={"linkedin": ["A second part LinkedIn cannot take."]},
        repairs={"LinkedIn": [DEFAULT_TEXT + " One post, all in."]},
    )
    fake_openai.responder = model
    body = http.post("/v1/content/adapt", json={"text": POST, "platforms": ["x", "linkedin"]}).json()
    x, linkedin = body["drafts"]
    assert x["ok"] and x["attempts"] == 1
    assert linkedin["ok"] and linkedin["attempts"] == 2 and linkedin["thread"] == []
    assert linkedin["rejected"][0]["problems"][0]["code"] == "threads_unsupported"
    assert model.calls == ["adapt", "repair:LinkedIn"]


def test_optimize_gives_validated_ab_variants_with_measured_changes(
    http: TestClient, fake_openai: FakeOpenAI
) -> None:
    need("x")
    fake_openai.responder = ContentModel(
        alternatives=[
            {
                "label": "Question",
                "text": "Still guessing with AI? Free webinar Tue 17:00 CET "
                "https://example.com/webinar #Webinar #AI",
                "rationale": "Opens with a question.",
            },
            {
                "label": "Urgency",
                "text": "Seats are limited: free AI webinar, Tuesday 17:00 CET. #Webinar 🚀",
                "rationale": "Scarcity.",
            },
        ]
    )
    response = http.post(
        "/v1/content/optimize", json={"text": POST, "platform": "x", "objective": "clicks", "alternatives": 2}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [v["variant"] for v in body["versions"]] == ["optimized", "A", "B"]
    assert all(v["draft"]["ok"] for v in body["versions"]) and body["original"]["ok"]
    question, urgency = body["versions"][1], body["versions"][2]
    assert question["label"] == "Question" and question["changes"]["hashtags_added"] == ["#AI"]
    assert question["changes"]["links_missing"] == []
    assert urgency["changes"]["links_missing"] == ["https://example.com/webinar"]  # flagged, not hidden
    assert urgency["changes"]["emoji_change"] == 1
    x = get_platform("x")
    assert urgency["changes"]["length_change"] == x.limits.text.count(
        urgency["draft"]["text"]
    ) - x.limits.text.count(POST)
    prompt = fake_openai.chat_bodies()[0]["messages"][-1]["content"]
    assert 'objective "clicks"' in prompt and "one concrete reason to click" in prompt
    bad = http.post("/v1/content/optimize", json={"text": POST, "platform": "x", "objective": "virality"})
    assert bad.status_code == 422


def test_computed_measures_are_labelled_and_reproducible(ocma: Ocma, ai_host: Any) -> None:
    need("x")
    text = "Why wait? Join @alice and @bob@mastodon.social at https://example.com/w. #AI #Webinar 🚀"
    x = get_platform("x")
    measures = {m.name: m for m in computed(x, text, has_media=True)}
    assert all(m.method == "computed" and m.how for m in measures.values())
    assert measures["length"].value == x.limits.text.count(text) and measures["length"].detail["limit"] == 280
    assert (
        measures["length_vs_optimum"].value is None
        and "no documented optimum" in measures["length_vs_optimum"].how
    )
    assert measures["hashtags"].value == 2 and measures["mentions"].detail["mentions"] == [
        "@alice",
        "@bob@mastodon.social",
    ]
    assert measures["links"].value == 1 and measures["emojis"].value == 1 and measures["media"].value is True
    counts = readability(text)
    expected = (
        206.835
        - 1.015 * (counts["words"] / counts["sentences"])
        - 84.6 * (counts["syllables"] / counts["words"])
    )
    assert measures["readability"].value == round(expected, 1) and counts["words"] == 5
    assert measures["valid"].value is True
    again = {m.name: m.value for m in computed(x, text, has_media=True)}
    assert again == {m.name: m.value for m in measures.values()}


def test_measure_helpers() -> None:
    assert hashtags("#One two #Two_3 a#b") == ["#One", "#Two_3"]
    assert mentions("hi @a.b and me@example.com") == ["@a.b"]
    assert links("see www.example.com/x, or https://a.b/c).") == ["www.example.com/x", "https://a.b/c"]
    assert emojis("👍🏽 👨‍👩‍👧 ❤️ ok") == 3
    assert readability("The cat sat on the mat. It was happy.")["sentences"] == 2


def test_score_with_model_judgement(http: TestClient, fake_openai: FakeOpenAI) -> None:
    need("mastodon")
    fake_openai.responder = ContentModel()
    body = http.post("/v1/content/score", json={"text": POST, "platform": "mastodon"}).json()
    judged = {m["name"]: m for m in body["measures"] if m["method"] == "model"}
    assert set(judged) == {"tone", "clarity", "hook"}
    assert judged["tone"]["detail"]["label"] == "friendly, clear" and judged["hook"]["value"] == 6.0
    assert "judged by openai/gpt-4o-mini" in judged["clarity"]["how"]
    assert "No overall score" in body["note"] and body["ai"]["calls"] == 1
    assert fake_openai.chat_bodies()[0]["temperature"] == 0.0
    plain = http.post("/v1/content/score", json={"text": POST, "platform": "mastodon", "judge": False}).json()
    assert all(m["method"] == "computed" for m in plain["measures"]) and plain["ai"] is None
    assert len(fake_openai.requests) == 1
    missing = http.post(
        "/v1/content/score", json={"text": POST, "platform": "mastodon", "media_ids": ["nope"]}
    )
    assert missing.status_code == 404


def test_out_of_range_judgement_is_corrected_or_refused(
    ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI
) -> None:
    need("x")
    model = ContentModel()
    model.judgement = {**model.judgement, "hook": {"score": 11, "reason": "Off the scale."}}
    fake_openai.responder = model
    with pytest.raises(AIBadOutput) as caught:
        asyncio.run(score(ocma, ai_workspace, POST, "x"))
    assert '"hook.score" must be a number from 1 to 10' in caught.value.message
    assert model.calls == ["score", "correction", "score"]
