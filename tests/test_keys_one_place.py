"""One encryption key whatever the order of `serve` and `init`, and wherever a command is started (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ocma_core.cli.main import cli
from ocma_core.context import Ocma
from ocma_core.db.engine import dispose_engines
from ocma_core.plugins import PluginHost


def _serve_start() -> Ocma:
    """What `ocma serve` does on a first start: settings, key (created when missing), schema."""
    from ocma_core.cli.setup import startup_context

    return startup_context(create_key=True)


def test_serve_then_init_then_restart_keeps_tokens_readable(
    install: dict[str, Path], plugin_host: PluginHost, fake: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests_support import connect_fakesocial, publish_and_wait

    from ocma_core.services.workspaces import create_workspace

    served = _serve_start()  # README order: `serve` first ...
    workspace = create_workspace(served, "Acme", timezone="UTC", owner_email="o@example.com")
    account_id = connect_fakesocial(served, workspace.id, fake)  # ... an account connects while it runs ...

    result = CliRunner().invoke(cli, ["init", "--workspace", "Acme"])  # ... then `init`
    assert result.exit_code == 0, result.output
    dispose_engines()

    for where in ("project", "elsewhere"):  # restart, from the same directory and from another one
        monkeypatch.chdir(install[where])
        restarted = _serve_start()
        assert restarted.encryption_keys == served.encryption_keys
        publish_and_wait(restarted, workspace.id, [account_id], f"Still readable from {where}")
        dispose_engines()


def test_init_adopts_the_key_file_and_says_so(install: dict[str, Path], plugin_host: PluginHost) -> None:
    first = _serve_start()
    key = first.encryption_keys
    dispose_engines()
    result = CliRunner().invoke(cli, ["init", "--workspace", "Acme"])
    assert result.exit_code == 0, result.output
    assert str(install["data"] / "encryption.key") in result.output
    assert Ocma().encryption_keys == key


def test_init_first_creates_the_key_in_the_data_directory(
    install: dict[str, Path], plugin_host: PluginHost
) -> None:
    result = CliRunner().invoke(cli, ["init", "--workspace", "Acme"])
    assert result.exit_code == 0, result.output
    key_file = install["data"] / "encryption.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert (install["data"] / "ocma.db").stat().st_mode & 0o777 == 0o600
    dispose_engines()
    assert _serve_start().encryption_keys == key_file.read_text().split()


def test_serve_and_worker_refuse_to_start_when_tokens_are_unreadable(
    install: dict[str, Path], plugin_host: PluginHost, fake: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """The install the old README order left behind: tokens under the key file's key, and a different key in
    ./.env (written by the old `init`), which is in force from that directory."""
    from cryptography.fernet import Fernet
    from tests_support import connect_fakesocial

    from ocma_core.cli.main import main
    from ocma_core.errors import ConfigError
    from ocma_core.services.workspaces import create_workspace

    served = _serve_start()
    workspace = create_workspace(served, "Acme", timezone="UTC", owner_email="o@example.com")
    connect_fakesocial(served, workspace.id, fake)
    dispose_engines()
    (install["project"] / ".env").write_text(f"OCMA_ENCRYPTION_KEYS={Fernet.generate_key().decode()}\n")

    with pytest.raises(ConfigError) as info:
        _serve_start()
    message = str(info.value)
    assert "stored secrets cannot be decrypted" in message and "account " in message
    key_file = install["data"] / "encryption.key"
    assert f"Every stored secret decrypts with the keys in the key file {key_file}" in message
    assert f"OCMA_ENCRYPTION_KEYS ({install['project'] / '.env'}) is in force" in message
    assert "remove OCMA_ENCRYPTION_KEYS where it is set" in message
    for command in (["serve"], ["worker", "-p", "1"]):
        with pytest.raises(SystemExit) as stopped:
            main(command)
        assert stopped.value.code == 1
        assert "cannot be decrypted" in capsys.readouterr().err


def test_readyz_reports_unreadable_secrets_without_details(
    ocma: Ocma, account_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.fernet import Fernet
    from fastapi.testclient import TestClient

    from ocma_core.api.app import create_app

    wrong = Ocma(ocma.settings.model_copy(update={"encryption_keys": Fernet.generate_key().decode()}))
    with TestClient(create_app(wrong, run_worker=False)) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 503
    secrets = answer.json()["checks"]["secrets"]
    assert secrets["ok"] is False and "cannot be decrypted" in secrets["error"]
    assert "ocma doctor" in secrets["hint"] and account_id not in answer.text
    with TestClient(create_app(ocma, run_worker=False)) as client:
        assert client.get("/readyz").json()["checks"]["secrets"] == {"ok": True}


def test_a_mixed_install_is_repaired_by_following_the_advice(
    install: dict[str, Path], plugin_host: PluginHost, fake: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tokens under two keys (the key file's, then ./.env's): the fix names both; following it works."""
    from cryptography.fernet import Fernet
    from tests_support import connect_fakesocial

    from ocma_core.services.keys import check_secrets, rotate_all
    from ocma_core.services.workspaces import create_workspace

    first = _serve_start()
    workspace = create_workspace(first, "Acme", timezone="UTC", owner_email="o@example.com")
    connect_fakesocial(first, workspace.id, fake, user="1001")
    file_key = first.encryption_keys[0]
    dispose_engines()
    dotenv_key = Fernet.generate_key().decode()
    (install["project"] / ".env").write_text(f"OCMA_ENCRYPTION_KEYS={dotenv_key}\n")
    second = Ocma()
    connect_fakesocial(second, workspace.id, fake, user="1002")

    check = check_secrets(second)
    assert not check.ok and 0 < len(check.unreadable) < check.total
    assert f"They decrypt with the key in the key file {install['data'] / 'encryption.key'}" in check.fix
    dispose_engines()
    (install["project"] / ".env").write_text(f"OCMA_ENCRYPTION_KEYS={dotenv_key},{file_key}\n")
    assert check_secrets(Ocma()).ok
    rotate_all(Ocma())
    dispose_engines()
    (install["project"] / ".env").write_text(f"OCMA_ENCRYPTION_KEYS={dotenv_key}\n")
    assert check_secrets(_serve_start()).ok
