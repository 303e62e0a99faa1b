"""`ocma doctor`: each finding says what is wrong and what to do; exit 1 when something needs fixing."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from tests_support import REDIS_URL

from ocma_core import Platform, hookimpl
from ocma_core.cli.main import cli
from ocma_core.context import Ocma
from ocma_core.db.models import Account
from ocma_core.db.types import utcnow
from ocma_core.plugins import PluginHost
from ocma_core.registry import clear_caches
from ocma_core.services.doctor import Finding
from ocma_core.services.keys import check_secrets


@pytest.fixture
def configured(ocma: Ocma, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[Ocma]:
    """The test's install described by the environment alone, as an operator would run `ocma doctor`."""
    for name in list(os.environ):
        if name.startswith("OCMA_") and not name.startswith(("OCMA_TEST_", "OCMA_FAKESOCIAL_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OCMA_DATA_DIR", str(ocma.settings.data_dir))
    monkeypatch.setenv("OCMA_DATABASE_URL", ocma.settings.resolved_database_url)
    monkeypatch.setenv("OCMA_ENCRYPTION_KEYS", ocma.settings.encryption_keys or "")
    yield ocma


def _doctor() -> tuple[int, list[Finding]]:
    result = CliRunner().invoke(cli, ["doctor", "--json"])
    findings = [Finding(**f) for f in json.loads(result.output)]
    return result.exit_code, findings


def _levels(findings: list[Finding], check: str) -> list[str]:
    return [f.level for f in findings if f.check == check]


def test_a_healthy_install_passes(configured: Ocma, account_id: str, backend: str) -> None:
    code, findings = _doctor()
    assert code == 0, [f for f in findings if f.level != "ok"]
    checks = {f.check for f in findings}
    assert {
        "configuration",
        "database",
        "migrations",
        "keys",
        "redis",
        "plugins",
        "public_url",
        "accounts",
    } <= checks
    keys = next(f for f in findings if f.check == "keys")
    total = check_secrets(configured).total  # the account's two tokens and its OAuth state's PKCE verifier
    assert total >= 2 and keys.message.startswith(f"All {total} stored secrets decrypt")
    if backend == "postgres":  # the database server's clock is compared with this machine's
        assert _levels(findings, "clock") == ["ok"]


def test_a_bad_setting_is_an_error_naming_it(configured: Ocma, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCMA_PORT", "eighty")
    code, findings = _doctor()
    assert code == 1 and findings[0].check == "configuration" and "OCMA_PORT" in findings[0].message


def test_keys_that_cannot_decrypt_are_an_error_with_the_fix(
    configured: Ocma, account_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCMA_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    code, findings = _doctor()
    bad = [f for f in findings if f.check == "keys" and f.level == "error"]
    assert code == 1 and len(bad) == 1
    assert "cannot be decrypted" in bad[0].message and "ocma keys forget-unreadable" in (bad[0].fix or "")


def test_an_empty_database_says_run_init(
    configured: Ocma, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("OCMA_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    code, findings = _doctor()
    assert code == 1
    assert [(f.level, f.fix) for f in findings if f.check == "migrations"] == [("error", "Run `ocma init`.")]


def test_redis_reachable_and_unreachable(configured: Ocma, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCMA_REDIS_URL", "redis://127.0.0.1:1/0")
    code, findings = _doctor()
    assert code == 1 and _levels(findings, "redis") == ["error"]
    if REDIS_URL:
        monkeypatch.setenv("OCMA_REDIS_URL", REDIS_URL)
        code, findings = _doctor()
        redis = next(f for f in findings if f.check == "redis")
        assert redis.level == "ok" and redis.message.startswith("Redis ")
        assert "ok" in _levels(findings, "clock")


def _plugin_with(platform: type[Platform]) -> object:
    class Plugin:
        @hookimpl
        def register_platforms(self, register: Callable[[type[Platform]], None]) -> None:
            register(platform)

    return Plugin()


def test_loopback_public_url_warns_when_a_platform_downloads_media(
    configured: Ocma, plugin_host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Fetching(Platform):
        name = "fetching"
        needs_public_media = True

    plugin_host.register(_plugin_with(Fetching), name="fetching")
    clear_caches()
    code, findings = _doctor()
    warning = next(f for f in findings if f.check == "public_url")
    assert code == 0 and warning.level == "warning" and "fetching" in warning.message
    monkeypatch.setenv("OCMA_PUBLIC_URL", "https://ocma.example.com")
    assert _levels(_doctor()[1], "public_url") == ["ok"]
    clear_caches()


def test_accounts_expiring_soon_and_plain_secrets_are_warnings(configured: Ocma, account_id: str) -> None:
    with configured.session() as session:
        account = session.get(Account, account_id)
        assert account is not None and account.refresh_token_enc
        account.refresh_expires_at = utcnow() + timedelta(days=2)
        session.add(account)
    (configured.settings.data_dir / "cache.json").write_text(json.dumps({"app": {"client_secret": "plain"}}))
    code, findings = _doctor()
    warnings = [f for f in findings if f.level == "warning"]
    assert code == 0
    assert any(f.check == "accounts" and account_id in f.message for f in warnings)
    assert any(f.check == "keys" and "cache.json: app.client_secret" in f.message for f in warnings)
    assert CliRunner().invoke(cli, ["doctor", "--strict"]).exit_code == 1
