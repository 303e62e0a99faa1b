# ruff: noqa: F811  (pytest fixtures imported from ai_fixtures)
"""Done when: a brief becomes validated per-platform drafts for X, LinkedIn, Bluesky and Mastodon through the
API and the CLI, against the fakes, through the real litellm path."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from ai_fixtures import ai_env, ai_host, ai_workspace, fake_openai  # noqa: F401
from fastapi.testclient import TestClient

from ocma_core.ai import AIBadOutput
from ocma_core.ai.settings import update_ai_settings
from ocma_core.ai.testing.fake_openai import FakeOpenAI
from ocma_core.ai.testing.scripted import DEFAULT_TEXT, ContentModel
from ocma_core.content.generate import generate
from ocma_core.content.prompts import set_prompt
from ocma_core.context import Ocma
from ocma_core.registry import get_platform

PLATFORMS = ["x", "linkedin", "bluesky", "mastodon"]
BRIEF = "Announce our free webinar on AI for small shops, Tuesday 17:00 CET, sign up at https://example.com/webinar"
TOO_LONG_FOR_X = (
    "We are thrilled to invite you to our free webinar on practical AI for small shops. " * 4
    + "https://example.com/webinar"
)
SHORT_X = (
    "Free webinar: practical AI for small shops, Tue 17:00 CET. Sign up: https://example.com/webinar #AI"
)


def needs_platforms() -> None:
    from ocma_core.registry import get_platforms

    missing = [p for p in PLATFORMS if p not in get_platforms()]
    if missing:
        pytest.skip(f"platform plugins not installed: {', '.join(missing)}")


@pytest.fixture
def model(fake_openai: FakeOpenAI) -> ContentModel:
    scripted = ContentModel(texts={"x": TOO_LONG_FOR_X}, repairs={"X": [SHORT_X]})
    fake_openai.responder = scripted
    return scripted


@pytest.fixture
def client(ocma: Ocma, ai_workspace: str) -> tuple[TestClient, dict[str, str]]:
    from ocma_core.api.app import create_app
    from ocma_core.db.models import Role
    from ocma_core.services.workspaces import create_api_key

    key = create_api_key(ocma, ai_workspace, name="test", role=Role.ADMIN).key
    return TestClient(create_app(ocma, run_worker=False)), {"Authorization": f"Bearer {key}"}


def check_drafts(drafts: list[dict[str, Any]]) -> None:
    assert [d["platform"] for d in drafts] == PLATFORMS
    for draft in drafts:
        platform = get_platform(draft["platform"])
        assert draft["ok"] and draft["problems"] == []
        assert draft["length"] == platform.limits.text.count(draft["text"]) <= draft["limit"]
    x = drafts[0]
    assert x["attempts"] == 2 and x["text"] == SHORT_X  # regenerated with the reason, not cut
    assert (
        x["rejected"][0]["text"] == TOO_LONG_FOR_X and x["rejected"][0]["problems"][0]["code"] == "too_long"
    )
    assert [d["text"] for d in drafts[1:]] == [DEFAULT_TEXT] * 3


def test_brief_to_validated_drafts_through_the_api(
    client: tuple[TestClient, dict[str, str]], model: ContentModel, fake_openai: FakeOpenAI
) -> None:
    needs_platforms()
    http, headers = client
    with http:
        response = http.post(
            "/v1/content/generate",
            headers=headers,
            json={"brief": BRIEF, "platforms": PLATFORMS, "variations": 2},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    check_drafts(body["drafts"])
    assert body["ok"] is True and body["title"] == "Webinar announcement"
    assert body["hashtags"] == ["#Webinar", "#Marketing"]  # cleaned: '#' added, duplicates dropped
    assert len(body["variations"]) == 2 and body["metadata"]["word_count"] > 5
    assert body["ai"]["calls"] == 2 and body["ai"]["cost_sources"] == ["litellm price table"]
    assert model.calls == ["generate", "repair:X"]
    repair_prompt = fake_openai.chat_bodies()[1]["messages"][-1]["content"]
    assert "as X counts them; the limit is 280" in repair_prompt and TOO_LONG_FOR_X in repair_prompt
    generate_prompt = fake_openai.chat_bodies()[0]["messages"][-1]["content"]
    for name in PLATFORMS:
        assert f'"{name}"' in generate_prompt
    assert "at most 280 weighted characters per post as X counts them" in generate_prompt


def test_brief_to_validated_drafts_through_the_cli(
    ocma: Ocma,
    ai_workspace: str,
    model: ContentModel,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    needs_platforms()
    cli_env(monkeypatch, ocma)
    from ocma_core.cli.main import main

    with pytest.raises(SystemExit) as exited:
        main(["content", "generate", BRIEF, "--platforms", ",".join(PLATFORMS), "--json"])
    assert exited.value.code == 0
    result = json.loads(capsys.readouterr().out)
    check_drafts(result["drafts"])
    with pytest.raises(SystemExit) as exited:
        main(["content", "generate", BRIEF, "--platforms", "x,linkedin"])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    assert "== x: " in out and "/280 weighted characters - OK" in out and "== linkedin: " in out


def cli_env(monkeypatch: pytest.MonkeyPatch, ocma: Ocma) -> None:
    """Point the CLI's own settings at the test's database, data directory and key."""
    monkeypatch.setenv("OCMA_DATABASE_URL", ocma.settings.resolved_database_url.replace("+psycopg", ""))
    monkeypatch.setenv("OCMA_DATA_DIR", str(ocma.settings.data_dir))
    monkeypatch.setenv("OCMA_ENCRYPTION_KEYS", ocma.settings.encryption_keys or "")


def test_a_draft_that_never_fits_is_reported_never_truncated(
    ocma: Ocma,
    ai_workspace: str,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    needs_platforms()
    fake_openai.responder = ContentModel(texts={"x": TOO_LONG_FOR_X}, repairs={"X": [TOO_LONG_FOR_X]})
    result = asyncio.run(generate(ocma, ai_workspace, BRIEF, ["x", "mastodon"]))
    x = result.drafts[0]
    assert not x.ok and x.attempts == 3 and x.text == TOO_LONG_FOR_X and len(x.rejected) == 2
    assert x.problems[0]["code"] == "too_long" and result.drafts[1].ok and not result.ok
    cli_env(monkeypatch, ocma)
    from ocma_core.cli.main import main

    with pytest.raises(SystemExit) as exited:
        main(["content", "generate", BRIEF, "--platforms", "x"])
    captured = capsys.readouterr()
    assert (
        exited.value.code == 1
        and "NOT VALID" in captured.out
        and "Not publishable as is on: x" in captured.err
    )


def test_brand_voice_and_workspace_prompt_overrides(
    ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI
) -> None:
    needs_platforms()
    fake_openai.responder = ContentModel()
    update_ai_settings(ocma, ai_workspace, {}, brand_voice="Dry British wit, no exclamation marks.")
    set_prompt(ocma, ai_workspace, "platform/mastodon", "Always mention the otters.")
    override = ocma.settings.data_dir / "prompts" / ai_workspace / "generate.txt"
    override.parent.mkdir(parents=True)
    override.write_text(
        "Create social media content (house template) for: $brief\n$platform_rules\n"
        'Write an entry in "platforms" for each of: $platform_names.\n',
        encoding="utf-8",
    )
    asyncio.run(generate(ocma, ai_workspace, BRIEF, ["mastodon"]))
    messages = fake_openai.chat_bodies()[0]["messages"]
    assert "Brand voice: Dry British wit, no exclamation marks." in messages[0]["content"]
    assert messages[1]["content"].startswith("Create social media content (house template) for: Announce")
    assert "Style: Always mention the otters." in messages[1]["content"]


def test_unusable_json_gets_one_correction_then_a_clear_error(
    ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI
) -> None:
    needs_platforms()
    scripted = ContentModel()
    fake_openai.reply("Sure! Here are your posts: (no JSON, sorry)")
    fake_openai.responder = scripted
    result = asyncio.run(generate(ocma, ai_workspace, BRIEF, ["linkedin"]))
    assert result.ok and result.ai["calls"] == 2 and scripted.calls == ["correction", "generate"]
    assert (
        "cannot be used: the answer contains no JSON object"
        in fake_openai.chat_bodies()[1]["messages"][-1]["content"]
    )
    fake_openai.responder = lambda body: '{"title": "no content"}'
    with pytest.raises(AIBadOutput) as caught:
        asyncio.run(generate(ocma, ai_workspace, BRIEF + " (again)", ["linkedin"]))
    assert '"main_content" must be a non-empty string' in caught.value.message


def test_unknown_platform_and_empty_brief(
    ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI, client: tuple[TestClient, dict[str, str]]
) -> None:
    http, headers = client
    with http:
        unknown = http.post(
            "/v1/content/generate", headers=headers, json={"brief": BRIEF, "platforms": ["myspace"]}
        )
        empty = http.post("/v1/content/generate", headers=headers, json={"brief": "", "platforms": ["x"]})
        anonymous = http.post("/v1/content/generate", json={"brief": BRIEF, "platforms": ["x"]})
    assert unknown.status_code == 404 and "Unknown platform 'myspace'" in unknown.json()["detail"]
    assert empty.status_code == 422 and anonymous.status_code == 401
    assert fake_openai.requests == []


def test_ai_errors_reach_the_api_as_problem_json(
    client: tuple[TestClient, dict[str, str]], ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI
) -> None:
    needs_platforms()
    http, headers = client
    fake_openai.fail_next("unavailable", count=3)
    with http:
        down = http.post("/v1/content/generate", headers=headers, json={"brief": BRIEF, "platforms": ["x"]})
        update_ai_settings(ocma, ai_workspace, {"daily_budget_usd": 0.0})
        broke = http.post("/v1/content/generate", headers=headers, json={"brief": BRIEF, "platforms": ["x"]})
    assert down.status_code == 503 and down.headers["content-type"] == "application/problem+json"
    assert "unavailable" in down.json()["detail"] and down.json()["fix"]
    assert broke.status_code == 402 and "daily AI budget" in broke.json()["detail"]
    assert "daily_budget_usd" in broke.json()["fix"] and "ocma " not in broke.json()["fix"]
