"""Every secret goes through one vault: after `ocma keys rotate` and dropping the old key, every secret at rest
still decrypts — account tokens, PKCE verifiers, AI provider keys, Slack installations, Mastodon app
registrations (issue 14). The check scans every column of every table and every data-directory file, so a
secret stored anywhere the rotation does not reach fails this test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from ocma_core.context import Ocma
from ocma_core.errors import ConfigError
from ocma_core.services import accounts
from ocma_core.services.keys import check_secrets, forget_unreadable, rotate_all
from ocma_core.services.vault_inventory import encrypted_columns, is_ciphertext, tables


def _every_ciphertext(ocma: Ocma) -> list[tuple[str, str]]:
    """(where, token) of each Fernet token in any column of any table and in any file of the data dir."""
    found: list[tuple[str, str]] = []

    def visit(value: Any, where: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                visit(v, f"{where}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                visit(v, f"{where}[{i}]")
        elif isinstance(value, str) and value.startswith("{"):
            try:
                visit(json.loads(value), where)
            except ValueError:
                pass
        elif is_ciphertext(value):
            found.append((where, value))

    with ocma.engine.connect() as conn:
        for table in tables():
            for row in conn.execute(select(table)):
                for column, value in row._mapping.items():
                    visit(value, f"{table.name}.{column}")
    for path in ocma.settings.data_dir.rglob("*"):
        if path.is_file() and path.suffix != ".db" and "-wal" not in path.name and "-shm" not in path.name:
            text = path.read_text("utf-8", errors="replace")
            visit(json.loads(text) if path.suffix == ".json" else text.split(), path.name)
    return found


def _with_keys(ocma: Ocma, keys: str) -> Ocma:
    return Ocma(ocma.settings.model_copy(update={"encryption_keys": keys}))


@pytest.fixture
def every_secret(ocma: Ocma, workspace_id: str, account_id: str) -> dict[str, str]:
    """One secret of every kind OCMA stores, with its plaintext."""
    import platform_fakes_support  # noqa: F401  (puts the plugins' fakes on sys.path)
    from fake_mastodon import FakeMastodon
    from ocma_mastodon import MastodonPlatform
    from ocma_slack import store

    from ocma_core.ai.settings import set_key

    accounts.start_connect(ocma, workspace_id, "fakesocial")  # a pending OAuth state with a PKCE verifier
    set_key(ocma, workspace_id, "openai", "sk-test-rotation")
    installation = {"bot_token": "xoxb-rotation", "team_id": "T1"}
    store.link_team(
        ocma, workspace_id, "T1", {"installation": store.encrypt_installation(ocma, installation)}
    )
    with FakeMastodon() as server:
        env = {
            "OCMA_MASTODON_API_BASE": server.base_url,
            "OCMA_DATA_DIR": str(ocma.settings.data_dir),
            "OCMA_ENCRYPTION_KEYS": ocma.settings.encryption_keys or "",
        }
        client = MastodonPlatform(env=env).oauth_client()
    return {"mastodon": server.base_url, "mastodon_secret": client.client_secret or ""}


def test_inventory_names_the_encrypted_columns() -> None:
    assert {
        ("account", "access_token_enc"),
        ("account", "refresh_token_enc"),
        ("oauthstate", "verifier_enc"),
    } <= set(encrypted_columns())


def test_rotation_reencrypts_every_secret_in_every_column_and_file(
    ocma: Ocma, workspace_id: str, account_id: str, every_secret: dict[str, str]
) -> None:
    from ocma_mastodon.apps import AppRegistry
    from ocma_slack import store

    from ocma_core.ai.settings import load_config

    old = ocma.settings.encryption_keys or ""
    before = _every_ciphertext(ocma)
    kinds = {where.split(".")[0].split("[")[0] for where, _ in before}
    assert {"account", "oauthstate", "workspace", "mastodon-apps"} <= {k.removesuffix(".json") for k in kinds}
    assert any("slack" in where for where, _ in before) and any("ai.keys" in where for where, _ in before)

    new = Fernet.generate_key().decode()
    assert rotate_all(_with_keys(ocma, f"{new},{old}")) == len(before)
    only_new = _with_keys(ocma, new)
    after = _every_ciphertext(ocma)
    assert len(after) == len(before)
    unreadable = [where for where, token in after if not only_new.vault.can_decrypt(token)]
    assert unreadable == []
    assert check_secrets(only_new).ok

    # Each owner reads its secret back with the new key alone.
    ctx = accounts.account_context(only_new, accounts.get_account(only_new, workspace_id, account_id))
    assert ctx.tokens.access_token
    assert (
        only_new.vault.decrypt(load_config(only_new, workspace_id).keys_enc["openai"]) == "sk-test-rotation"
    )
    record = store.team_record(only_new, "T1")
    assert record is not None
    assert store.decrypt_installation(only_new, record["installation"])["bot_token"] == "xoxb-rotation"
    registry = AppRegistry(ocma.settings.data_dir / "mastodon-apps.json", lambda: only_new.vault)
    registration = registry.get(every_secret["mastodon"])
    assert registration is not None and registration["client_secret"] == every_secret["mastodon_secret"]


def test_rotation_refuses_when_a_secret_is_unreadable(ocma: Ocma, every_secret: dict[str, str]) -> None:
    stranger = _with_keys(ocma, Fernet.generate_key().decode())
    result = check_secrets(stranger)
    assert not result.ok and len(result.unreadable) == result.total
    with pytest.raises(ConfigError):
        rotate_all(stranger)
    assert check_secrets(ocma).ok  # nothing was changed


def test_forget_unreadable_marks_accounts_for_reconnection(
    ocma: Ocma, workspace_id: str, account_id: str, every_secret: dict[str, str]
) -> None:
    from ocma_core.db.models import AccountStatus

    lost = _with_keys(ocma, Fernet.generate_key().decode())
    dropped = forget_unreadable(lost)
    assert any("account" in where for where in dropped) and any("mastodon-apps" in w for w in dropped)
    assert check_secrets(lost).total == 0
    account = accounts.get_account(lost, workspace_id, account_id)
    assert account.status is AccountStatus.NEEDS_RECONNECT and "connect it again" in (
        account.last_error or ""
    )


def test_the_database_key_file_and_data_directory_are_private(tmp_path: Path) -> None:
    """The low finding: the SQLite file and the key file were world-readable (0644)."""
    import stat

    from ocma_core.crypto import load_or_create_keys
    from ocma_core.db.engine import make_engine

    data = tmp_path / "fresh" / "ocma"
    load_or_create_keys(None, data / "encryption.key", create=True)
    engine = make_engine(f"sqlite:///{data / 'ocma.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    engine.dispose()
    assert stat.S_IMODE((data / "encryption.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "ocma.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
