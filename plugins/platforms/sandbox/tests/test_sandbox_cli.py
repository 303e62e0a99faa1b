"""`ocma accounts connect sandbox` asks nothing (the sandbox has no credentials), `-f name=` picks another."""

from __future__ import annotations

import io

import pytest

from ocma_core.app import Ocma
from ocma_core.app.accounts import list_accounts
from ocma_core.services.workspaces import create_workspace


def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str]:
    from ocma_core.cli.main import main

    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # any prompt would hit end of input and abort
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out + captured.err


def test_connect_asks_nothing_and_takes_a_name(
    ocma: Ocma, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OCMA_DATABASE_URL", ocma.settings.resolved_database_url)
    monkeypatch.setenv("OCMA_ENCRYPTION_KEYS", ocma.settings.encryption_keys or "")
    workspace = create_workspace(ocma, "Solo", timezone="UTC", owner_email="me@example.com")

    code, out = run_cli(monkeypatch, capsys, "accounts", "connect", "sandbox")
    assert code == 0, out
    assert out.startswith("Connected sandbox account demo (")
    code, out = run_cli(monkeypatch, capsys, "accounts", "connect", "sandbox", "-f", "name=launch")
    assert code == 0 and "Connected sandbox account launch (" in out
    code, out = run_cli(monkeypatch, capsys, "accounts", "connect", "sandbox", "-f", "name=Not OK!")
    assert code == 1 and "not a sandbox account name" in out and "-f name=" in out

    accounts = list_accounts(ocma, workspace.id)
    assert sorted((a.handle, a.display_name, a.status) for a in accounts) == [
        ("demo", "demo (sandbox)", "connected"),
        ("launch", "launch (sandbox)", "connected"),
    ]
