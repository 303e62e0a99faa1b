"""Where settings come from: the environment (and OCMA_<NAME>_FILE), ./.env, the data directory's ocma.env —
the same for every command wherever it starts (issues 12 and 21)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from ocma_core.cli.main import main
from ocma_core.config import load_settings
from ocma_core.db.engine import dispose_engines
from ocma_core.errors import ConfigError
from ocma_core.settings_files import apply_to_environ


@pytest.fixture
def clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No OCMA_* variables, a data directory and an empty current directory; returns the data directory."""
    saved = dict(os.environ)  # apply_to_environ() writes os.environ directly: restore it whole afterwards
    for name in list(os.environ):
        if name.startswith("OCMA_") and not name.startswith("OCMA_TEST_"):
            monkeypatch.delenv(name)
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setenv("OCMA_DATA_DIR", str(data))
    yield data
    dispose_engines()
    os.environ.clear()
    os.environ.update(saved)


def test_precedence_environment_then_dotenv_then_data_dir(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean / "ocma.env").write_text(
        "OCMA_PORT=8001\nOCMA_HOST=10.0.0.1\nOCMA_PUBLIC_URL=https://data.example\n"
    )
    Path(".env").write_text("OCMA_PORT=8002\nOCMA_HOST=10.0.0.2\n")
    monkeypatch.setenv("OCMA_PORT", "8003")
    settings = load_settings()
    assert (settings.port, settings.host, settings.public_url) == (8003, "10.0.0.2", "https://data.example")


def test_the_data_directory_file_is_read_from_any_directory(
    clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean / "ocma.env").write_text("OCMA_PUBLIC_URL=https://ocma.example\n")
    for where in (tmp_path / "cwd", tmp_path):
        monkeypatch.chdir(where)
        assert load_settings().public_url == "https://ocma.example"


def test_secrets_can_come_from_files(clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = Fernet.generate_key().decode()
    secret = tmp_path / "keys.secret"
    secret.write_text(key + "\n")
    monkeypatch.setenv("OCMA_ENCRYPTION_KEYS_FILE", str(secret))
    (clean / "ocma.env").write_text(f"OCMA_S3_SECRET_ACCESS_KEY_FILE={secret}\n")
    settings = load_settings()
    assert settings.encryption_keys == key and settings.s3_secret_access_key == key


def test_a_file_setting_that_cannot_be_read_names_the_variable(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCMA_DATABASE_URL_FILE", "/nonexistent/db-url")
    with pytest.raises(ConfigError, match=r"OCMA_DATABASE_URL_FILE .* /nonexistent/db-url"):
        load_settings()
    monkeypatch.setenv("OCMA_DATABASE_URL_FILE", str(clean / "ocma.env"))
    (clean / "ocma.env").write_text("")
    monkeypatch.setenv("OCMA_DATABASE_URL", "sqlite:///other.db")
    with pytest.raises(ConfigError, match="Both OCMA_DATABASE_URL and OCMA_DATABASE_URL_FILE"):
        load_settings()


def test_a_bad_value_names_where_it_is_set(clean: Path) -> None:
    (clean / "ocma.env").write_text("OCMA_PORT=eighty\n")
    with pytest.raises(ConfigError, match=r"OCMA_PORT: .*\(set in .*ocma\.env\)"):
        load_settings()


def test_plugins_see_settings_files_and_file_secrets(
    clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Platform plugins read os.environ: the CLI puts the files' values there, never over a real variable."""
    secret = tmp_path / "x-secret"
    secret.write_text("from-a-file")
    (clean / "ocma.env").write_text(f"OCMA_X_CLIENT_ID=from-data-dir\nOCMA_X_CLIENT_SECRET_FILE={secret}\n")
    monkeypatch.setenv("OCMA_X_CLIENT_ID", "from-environment")
    apply_to_environ()
    assert os.environ["OCMA_X_CLIENT_ID"] == "from-environment"
    assert os.environ["OCMA_X_CLIENT_SECRET"] == "from-a-file"
    apply_to_environ()  # a second start (e.g. a spawned worker process) agrees with the first
    assert load_settings().data_dir == clean


def test_commands_before_init_say_run_init(clean: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["status"], ["worker", "-p", "1"], ["posts", "list"]):
        with pytest.raises(SystemExit) as info:
            main(command)
        assert info.value.code == 1
        err = capsys.readouterr().err
        assert "Run `ocma init` first" in err and "db upgrade" not in err, (command, err)
