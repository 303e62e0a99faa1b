"""The way out when an encryption key is lost for good: drop what no configured key can decrypt.

Accounts whose tokens are unreadable are marked as needing reconnection (reconnecting stores new tokens and
returns their held posts to the queue); unreadable values in settings and data-directory files are removed
(an AI provider key is entered again, a Slack app is reinstalled, a Mastodon app registers itself again)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from ocma_core.context import Ocma
from ocma_core.services import vault_inventory
from ocma_core.services.vault_inventory import is_ciphertext

REASON = "Its stored tokens could not be decrypted (the encryption key was lost): connect it again."


def _pruned(value: Any, readable: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _pruned(v, readable) for k, v in value.items() if not (is_ciphertext(v) and not readable(v))
        }
    if isinstance(value, list):
        return [_pruned(v, readable) for v in value if not (is_ciphertext(v) and not readable(v))]
    return value


def forget(ocma: Ocma, data_dir: Path) -> list[str]:
    """Drop every unreadable secret; returns where each was."""
    from ocma_core.services.accounts import mark_needs_reconnect

    readable = ocma.vault.can_decrypt
    dropped: list[str] = []
    lost_accounts: list[str] = []
    with ocma.session() as session:
        for secret in vault_inventory.database_secrets(session):
            if not readable(secret.ciphertext):
                dropped.append(secret.where)
        for table in vault_inventory.tables():
            pk = list(table.primary_key.columns)
            for column in vault_inventory.secret_columns(table):
                for row in session.connection().execute(select(*pk, column)).all():
                    value = row._mapping[column.name]
                    if not value:
                        continue
                    if isinstance(value, str):
                        new: Any = value if readable(value) or not is_ciphertext(value) else None
                        if new is None and not column.nullable:
                            new = ""
                    else:
                        new = _pruned(value, readable)
                    if new == value:
                        continue
                    if table.name == "account" and isinstance(value, str):
                        lost_accounts.append(str(row._mapping["id"]))
                    where = [c == row._mapping[c.name] for c in pk]
                    session.connection().execute(update(table).where(*where).values({column.name: new}))
    for account_id in dict.fromkeys(lost_accounts):
        mark_needs_reconnect(ocma, account_id, REASON)
    for path in vault_inventory.data_files(data_dir):
        data = vault_inventory.read_json(path)
        pruned = _pruned(data, readable)
        if pruned != data:
            dropped += [f"{path}: {w}" for w, t in vault_inventory.walk(data, "") if not readable(t)]
            tmp = path.with_name(path.name + ".forgetting")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(pruned, handle, indent=2, sort_keys=True)
            os.replace(tmp, path)
    return dropped
