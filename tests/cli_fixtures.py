"""`cli_run`: run `ocma ...` in this process against the test's database (import it into a test module)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ocma_core.context import Ocma

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli_run(ocma: Ocma, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """Run `ocma ARGS` on a narrow, non-terminal stdout; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("OCMA_DATABASE_URL", ocma.settings.resolved_database_url.replace("+psycopg", ""))
    monkeypatch.setenv("OCMA_DATA_DIR", str(ocma.settings.data_dir))
    monkeypatch.setenv("OCMA_ENCRYPTION_KEYS", ocma.settings.encryption_keys or "")
    monkeypatch.setenv("COLUMNS", "40")  # a narrow terminal must not cut ids

    def invoke(*argv: str) -> tuple[int, str, str]:
        from ocma_core.cli.main import main

        with pytest.raises(SystemExit) as exited:
            main(list(argv))
        captured = capsys.readouterr()
        return int(exited.value.code or 0), captured.out, captured.err

    return invoke
