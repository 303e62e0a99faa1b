# ruff: noqa: F811  (pytest fixtures imported from ai_fixtures)
"""`ocma ai` (set, key, price, usage, show) and `ocma content` (adapt, optimize, score, prompt) from the CLI."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from ai_fixtures import ai_env, ai_host, ai_workspace, fake_openai  # noqa: F401

from ocma_core.ai.settings import load_config
from ocma_core.ai.testing.fake_openai import DEFAULT_KEY, FakeOpenAI
from ocma_core.ai.testing.scripted import DEFAULT_TEXT, ContentModel
from ocma_core.context import Ocma


@pytest.fixture
def run(
    ocma: Ocma, ai_workspace: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Any:
    monkeypatch.setenv("OCMA_DATABASE_URL", ocma.settings.resolved_database_url.replace("+psycopg", ""))
    monkeypatch.setenv("OCMA_DATA_DIR", str(ocma.settings.data_dir))
    monkeypatch.setenv("OCMA_ENCRYPTION_KEYS", ocma.settings.encryption_keys or "")

    def invoke(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
        from ocma_core.cli.main import main

        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        with pytest.raises(SystemExit) as exited:
            main(list(argv))
        captured = capsys.readouterr()
        return int(exited.value.code or 0), captured.out, captured.err

    return invoke


def test_ai_settings_keys_prices_and_usage(
    run: Any, ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI
) -> None:
    code, out, _ = run(
        "ai",
        "set",
        "--daily",
        "3",
        "--monthly",
        "40",
        "--fallback",
        "openai/gpt-4o",
        "--brand-voice",
        "Plain and kind.",
        "--json",
    )
    assert code == 0 and json.loads(out)["daily_budget_usd"] == 3.0
    code, out, _ = run("ai", "key", "anthropic", stdin="sk-ant-from-stdin\n")
    assert code == 0 and "encrypted" in out
    code, out, _ = run(
        "ai", "price", "openai/acme-7b", "--input-per-token", "1e-7", "--output-per-token", "3e-7"
    )
    assert code == 0
    config = load_config(ocma, ai_workspace)
    assert (config.daily_budget_usd, config.monthly_budget_usd, config.fallback_models) == (
        3.0,
        40.0,
        ["openai/gpt-4o"],
    )
    assert (
        config.brand_voice == "Plain and kind." and config.prices["openai/acme-7b"].output_per_token == 3e-7
    )
    assert ocma.vault.decrypt(config.keys_enc["anthropic"]) == "sk-ant-from-stdin"
    code, out, _ = run("ai", "show", "--json")
    shown = json.loads(out)
    assert shown["keys_configured"] == ["anthropic", "openai"] and DEFAULT_KEY not in out
    code, out, _ = run("ai", "show")  # for a person: key: value lines, no JSON, no Python dicts
    assert code == 0 and "keys configured: anthropic, openai" in out and "{" not in out
    code, _, _ = run("ai", "set", "--clear", "daily_budget_usd")
    assert load_config(ocma, ai_workspace).daily_budget_usd is None
    code, out, _ = run("ai", "usage")
    assert code == 0 and "Today: $0.0000 (no budget), 0 calls" in out and "of $40.00" in out
    code, _, err = run("ai", "set", "--daily", "-1")
    assert code == 1 and err.startswith("Error: Invalid AI settings")


def test_content_subcommands(run: Any, ocma: Ocma, fake_openai: FakeOpenAI) -> None:
    from ocma_core.registry import get_platforms

    if not {"x", "mastodon"} <= set(get_platforms()):
        pytest.skip("X and Mastodon plugins not installed")
    fake_openai.responder = ContentModel()
    code, out, _ = run("content", "adapt", DEFAULT_TEXT, "--platforms", "x,mastodon", "--json")
    assert code == 0 and [d["ok"] for d in json.loads(out)["drafts"]] == [True, True]
    code, out, _ = run(
        "content", "optimize", DEFAULT_TEXT, "-p", "x", "-o", "engagement", "--alternatives", "1"
    )
    assert code == 0 and "[optimized]" in out and "[A] Angle 1" in out
    code, out, _ = run("content", "score", DEFAULT_TEXT, "-p", "x", "--no-judge")
    assert code == 0 and "readability" in out and "[computed]" in out and "[model]" not in out
    code, out, _ = run("content", "score", DEFAULT_TEXT, "-p", "x")
    assert code == 0 and "hook" in out and "[model] judged by openai/gpt-4o-mini" in out
    code, out, _ = run("content", "prompt", "platform/x", "--set", "Terse, no emoji.")
    assert code == 0 and out.startswith("# platform/x (workspace setting)") and "Terse, no emoji." in out
    code, out, _ = run("content", "prompt", "platform/x", "--reset")
    assert "(built-in" in out
    code, _, err = run("content", "prompt", "../../etc/passwd")
    assert code == 1 and "not a prompt template name" in err
