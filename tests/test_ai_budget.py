# ruff: noqa: F811  (pytest fixtures imported from ai_fixtures)
"""Budgets, usage summaries, key storage and precedence, and the AI settings API."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ai_fixtures import ai_env, ai_host, ai_workspace, fake_openai  # noqa: F401
from fastapi.testclient import TestClient
from sqlmodel import select

from ocma_core.ai import AINotConfigured, AIUnavailable, BudgetExceeded
from ocma_core.ai.service import complete_text
from ocma_core.ai.settings import load_config, resolve_key, set_key, update_ai_settings
from ocma_core.ai.testing.fake_openai import DEFAULT_KEY, FakeOpenAI
from ocma_core.ai.usage import RESERVED, periods, usage_summary
from ocma_core.context import Ocma
from ocma_core.db.models import AIUsage, Workspace
from ocma_core.db.types import utcnow
from ocma_core.errors import ValidationFailed

HELLO = [{"role": "user", "content": "Say hello"}]


def spend(ocma: Ocma, workspace_id: str, usd: float, when: datetime | None = None) -> None:
    with ocma.session() as session:
        session.add(
            AIUsage(
                workspace_id=workspace_id,
                provider="openai",
                model="openai/gpt-4o-mini",
                kind="text",
                prompt_tokens=1000,
                completion_tokens=500,
                cost_usd=usd,
                cost_source="litellm price table",
                created_at=when or utcnow(),
            )
        )


def rows(ocma: Ocma, workspace_id: str) -> list[AIUsage]:
    with ocma.session() as session:
        return list(session.exec(select(AIUsage).where(AIUsage.workspace_id == workspace_id)))


def test_daily_budget_refuses_a_call_that_would_exceed_it(
    ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI
) -> None:
    spend(ocma, ai_workspace, 0.999)
    update_ai_settings(ocma, ai_workspace, {"daily_budget_usd": 1.0})
    with pytest.raises(BudgetExceeded) as caught:
        asyncio.run(complete_text(ocma, ai_workspace, HELLO, max_tokens=4000))
    assert "daily AI budget" in caught.value.message and "$0.9990 of $1.00" in caught.value.message
    assert "ocma ai set --daily" in (caught.value.fix_for("cli") or "")  # each surface its own advice
    assert "daily_budget_usd" in (caught.value.fix_for("api") or "")
    assert "ocma " not in (caught.value.fix_for("api") or "") and "/v1/" not in (
        caught.value.fix_for("cli") or ""
    )
    assert "Europe/Berlin" in (caught.value.fix or "")  # resets at the workspace's midnight
    assert fake_openai.requests == [] and len(rows(ocma, ai_workspace)) == 1
    with pytest.raises(BudgetExceeded):  # refused again: announced once per budget and period
        asyncio.run(complete_text(ocma, ai_workspace, HELLO, max_tokens=4000))
    from ocma_core.eventlog import read

    told = [e.payload for e in read(ocma, ai_workspace) if e.kind == "budget.exceeded"]
    assert [(t["period"], t["budget"], t["spent"]) for t in told] == [("daily", 1.0, 0.999)]


def test_monthly_budget_counts_earlier_days(ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI) -> None:
    span = periods("Europe/Berlin")
    spend(ocma, ai_workspace, 5.0, when=span.month_start + timedelta(minutes=1))
    update_ai_settings(ocma, ai_workspace, {"monthly_budget_usd": 5.0, "daily_budget_usd": 100.0})
    with pytest.raises(BudgetExceeded) as caught:
        asyncio.run(complete_text(ocma, ai_workspace, HELLO))
    assert "monthly AI budget" in caught.value.message and "--monthly" in (caught.value.fix_for("cli") or "")


def test_within_budget_the_reservation_becomes_the_real_cost(
    ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI
) -> None:
    update_ai_settings(ocma, ai_workspace, {"daily_budget_usd": 1.0, "monthly_budget_usd": 10.0})
    fake_openai.reply("within budget")
    result = asyncio.run(complete_text(ocma, ai_workspace, HELLO))
    [row] = rows(ocma, ai_workspace)
    assert row.cost_source == "litellm price table" and row.cost_usd == pytest.approx(result.cost_usd)
    summary = usage_summary(ocma, load_config(ocma, ai_workspace))
    assert summary["today"]["calls"] == 1 and summary["today"]["cost_usd"] == pytest.approx(result.cost_usd)
    assert summary["budgets"]["daily_remaining_usd"] == pytest.approx(1.0 - (result.cost_usd or 0.0))


def test_failed_call_releases_its_reservation(ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI) -> None:
    update_ai_settings(ocma, ai_workspace, {"daily_budget_usd": 1.0})
    fake_openai.fail_next("unavailable", count=3)
    with pytest.raises(AIUnavailable):
        asyncio.run(complete_text(ocma, ai_workspace, HELLO))
    assert rows(ocma, ai_workspace) == []


def test_budget_needs_a_known_price(ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI) -> None:
    update_ai_settings(ocma, ai_workspace, {"daily_budget_usd": 1.0, "model": "openai/acme-local-7b"})
    with pytest.raises(AINotConfigured) as caught:
        asyncio.run(complete_text(ocma, ai_workspace, HELLO))
    assert "cannot be enforced" in caught.value.message and "prices" in (caught.value.fix_for("api") or "")
    update_ai_settings(
        ocma,
        ai_workspace,
        {"prices": {"openai/acme-local-7b": {"input_per_token": 0, "output_per_token": 0}}},
    )
    fake_openai.reply("free local model")
    assert asyncio.run(complete_text(ocma, ai_workspace, HELLO)).cost_usd == 0.0


def test_reservation_is_visible_to_a_concurrent_check(ocma: Ocma, ai_workspace: str) -> None:
    from ocma_core.ai.usage import release, reserve

    update_ai_settings(ocma, ai_workspace, {"daily_budget_usd": 1.0})
    config = load_config(ocma, ai_workspace)
    held = reserve(ocma, config, provider="litellm", model="m", kind="text", estimate=0.6)
    with pytest.raises(BudgetExceeded):
        reserve(ocma, config, provider="litellm", model="m", kind="text", estimate=0.6)
    assert [r.cost_source for r in rows(ocma, ai_workspace)] == [RESERVED]
    release(ocma, held)
    assert rows(ocma, ai_workspace) == []


def test_budget_periods_follow_the_workspace_timezone() -> None:
    late = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)  # already 11 March in Berlin
    span = periods("Europe/Berlin", now=late)
    assert span.day_start == datetime(2026, 3, 10, 23, 0, tzinfo=UTC)
    assert span.month_start == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    assert span.next_day == datetime(2026, 3, 11, 23, 0, tzinfo=UTC)
    assert span.next_month == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)  # after the switch to summer time


def test_keys_are_encrypted_at_rest_and_resolved_in_order(
    ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ocma.session() as session:
        stored = json.dumps(session.get(Workspace, ai_workspace).settings)  # type: ignore[union-attr]
    assert DEFAULT_KEY not in stored and "keys" in stored
    config = load_config(ocma, ai_workspace)
    assert resolve_key(ocma, config, "openai", ("OPENAI_API_KEY",), primary_text=True) == (
        DEFAULT_KEY,
        "workspace key 'openai'",
    )
    set_key(ocma, ai_workspace, "openai", None)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-provider-env")
    monkeypatch.setenv("OCMA_MODEL_API_KEY", "sk-from-ocma-env")
    config = load_config(ocma, ai_workspace)
    assert (
        resolve_key(ocma, config, "openai", ("OPENAI_API_KEY",), primary_text=True)[1] == "OCMA_MODEL_API_KEY"
    )
    assert resolve_key(ocma, config, "openai", ("OPENAI_API_KEY",))[1] == "OPENAI_API_KEY"
    fake_openai.api_keys.add("sk-from-ocma-env")
    # Operator keys go only to the operator's endpoint (tests/security/test_operator_keys.py).
    update_ai_settings(ocma, ai_workspace, {"api_base": None})
    monkeypatch.setenv("OCMA_MODEL_API_BASE", fake_openai.api_base)
    asyncio.run(complete_text(ocma, ai_workspace, HELLO))
    assert fake_openai.requests[-1].bearer() == "sk-from-ocma-env"


def test_environment_defaults_when_the_workspace_sets_nothing(
    ocma: Ocma, workspace_id: str, ai_host: Any, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCMA_MODEL", "openai/gpt-4o-mini")
    monkeypatch.setenv("OCMA_MODEL_API_BASE", fake_openai.api_base)
    monkeypatch.setenv("OCMA_MODEL_API_KEY", DEFAULT_KEY)
    config = load_config(ocma, workspace_id)
    assert (config.model, config.model_source) == ("openai/gpt-4o-mini", "OCMA_MODEL")
    fake_openai.reply("configured by environment")
    assert asyncio.run(complete_text(ocma, workspace_id, HELLO)).text == "configured by environment"
    update_ai_settings(ocma, workspace_id, {"model": "openai/gpt-4o"})
    assert load_config(ocma, workspace_id).model_source == "workspace setting ai.model"


def test_invalid_settings_are_refused(ocma: Ocma, workspace_id: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        update_ai_settings(ocma, workspace_id, {"daily_budget_usd": -1})
    assert "daily_budget_usd" in caught.value.message
    with pytest.raises(ValidationFailed):
        update_ai_settings(ocma, workspace_id, {"colour": "blue"})
    with pytest.raises(ValidationFailed):
        update_ai_settings(ocma, workspace_id, {"prices": {"m": {"per_token": 1.0}}})


def test_settings_keys_and_usage_over_http(ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI) -> None:
    from ocma_core.api.app import create_app
    from ocma_core.db.models import Role
    from ocma_core.services.workspaces import create_api_key

    admin = {"Authorization": f"Bearer {create_api_key(ocma, ai_workspace, role=Role.ADMIN).key}"}
    editor = {"Authorization": f"Bearer {create_api_key(ocma, ai_workspace, role=Role.EDITOR).key}"}
    with TestClient(create_app(ocma, run_worker=False)) as http:
        changed = http.put(
            "/v1/ai/settings",
            headers=admin,
            json={"daily_budget_usd": 2.5, "brand_voice": "Calm and precise."},
        )
        refused = http.put("/v1/ai/settings", headers=editor, json={"daily_budget_usd": 100})
        key = http.put("/v1/ai/keys/anthropic", headers=admin, json={"key": "sk-ant-secret-value"})
        shown = http.get("/v1/ai/settings", headers=editor)
        fake_openai.reply("counted")
        asyncio.run(complete_text(ocma, ai_workspace, HELLO))
        usage = http.get("/v1/ai/usage", headers=editor)
        removed = http.delete("/v1/ai/keys/anthropic", headers=admin)
        prompt = http.put("/v1/content/prompts/platform/x", headers=admin, json={"text": "Be terse."})
        effective = http.get("/v1/content/prompts/platform/x", headers=editor)
        builtin = http.get("/v1/content/prompts/platform/linkedin", headers=editor)
    assert changed.status_code == 200 and changed.json()["daily_budget_usd"] == 2.5
    assert refused.status_code == 403 and key.status_code == 204 and removed.status_code == 204
    assert shown.json()["keys_configured"] == ["anthropic", "openai"] and "sk-ant-secret" not in shown.text
    assert shown.json()["brand_voice"] == "Calm and precise."
    assert usage.json()["today"]["calls"] == 1 and usage.json()["budgets"]["daily_usd"] == 2.5
    assert prompt.status_code == 204 and effective.json() == {
        "name": "platform/x",
        "source": "workspace setting",
        "text": "Be terse.",
    }
    assert builtin.json()["source"].startswith("built-in")


def test_stored_keys_survive_an_encryption_key_rotation(ocma: Ocma, ai_workspace: str) -> None:
    from cryptography.fernet import Fernet

    from ocma_core.config import Settings
    from ocma_core.services.keys import rotate_all

    old = ocma.settings.encryption_keys or ""
    new = Fernet.generate_key().decode()
    both = Ocma(Settings(**{**ocma.settings.model_dump(), "encryption_keys": f"{new},{old}"}))
    assert rotate_all(both) == 1
    only_new = Ocma(Settings(**{**ocma.settings.model_dump(), "encryption_keys": new}))
    config = load_config(only_new, ai_workspace)
    assert only_new.vault.decrypt(config.keys_enc["openai"]) == DEFAULT_KEY
