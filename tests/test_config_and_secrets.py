"""Configuration errors, encryption at rest, key rotation, redaction, migrations."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from ocma_core.config import Settings, check_env_file, load_settings
from ocma_core.context import Ocma
from ocma_core.crypto import Vault
from ocma_core.db.engine import make_engine
from ocma_core.errors import ConfigError
from ocma_core.logs import RedactingFilter, redact


def test_corrupted_env_file_names_the_line(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("OCMA_PORT=8000\nthis is not a setting\n")
    with pytest.raises(ConfigError) as info:
        check_env_file(env)
    assert ":2 is not a setting line" in str(info.value)


def test_invalid_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCMA_PORT", "eighty")
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None)
    assert "OCMA_PORT" in str(info.value)


def test_missing_key_and_wrong_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ConfigError) as info:
        Ocma(settings).vault  # noqa: B018
    assert "ocma init" in str(info.value)
    secret = Vault([Fernet.generate_key().decode()]).encrypt("token")
    with pytest.raises(ConfigError) as info:
        Vault([Fernet.generate_key().decode()]).decrypt(secret)
    assert "OCMA_ENCRYPTION_KEYS" in str(info.value)
    with pytest.raises(ConfigError):
        Vault(["not-a-key"])


def test_key_rotation_reencrypts_everything(ocma: Ocma, account_id: str) -> None:
    from ocma_core.db.models import Account
    from ocma_core.services.keys import rotate_all

    old_key = ocma.settings.encryption_keys or ""
    new_key = Fernet.generate_key().decode()
    rotated = Ocma(ocma.settings.model_copy(update={"encryption_keys": f"{new_key},{old_key}"}))
    assert rotate_all(rotated) >= 2
    only_new = Ocma(ocma.settings.model_copy(update={"encryption_keys": new_key}))
    with only_new.session() as s:
        account = s.get(Account, account_id)
        assert account is not None
        assert only_new.vault.decrypt(account.access_token_enc)


def test_secrets_are_redacted_from_logs(caplog: pytest.LogCaptureFixture) -> None:
    assert "abc123" not in redact("Authorization: Bearer abc123")
    assert "s3cr3t" not in redact('{"access_token": "s3cr3t", "x": 1}')
    assert "hunter2" not in redact("refresh_token=hunter2&grant_type=refresh_token")
    assert "[redacted]" in redact("ocma_0123456789ab_verysecretvalue")
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "token %s", ("client_secret=zzz",), None)
    RedactingFilter().filter(record)
    assert "zzz" not in record.getMessage()


def test_database_at_older_migration_is_refused(tmp_path: Path) -> None:
    from ocma_core.db.migrate import ensure_current

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('0000')"))
    with pytest.raises(ConfigError) as info:
        ensure_current(engine, auto_upgrade_empty=True)
    assert "ocma db upgrade" in str(info.value)


def test_models_and_migrations_agree(ocma: Ocma) -> None:
    """Autogenerate against the migrated database finds nothing to change."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    from ocma_core.migrations.env_support import compare_options

    with ocma.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts=compare_options()), SQLModel.metadata)
    assert diff == []


def test_help_is_fast_and_light() -> None:
    code = (
        "import sys; from ocma_core.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('fastapi', 'sqlalchemy', 'sqlmodel', 'litellm', 'ocma_core.db.models') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))"
    )
    env = {k: v for k, v in os.environ.items() if k != "OCMA_LOAD_PLUGINS"}  # every installed plugin loads
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="
