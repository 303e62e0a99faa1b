"""Every secret OCMA keeps at rest, found in one place: each `*_enc` column of every table, vault ciphertext
inside workspace and account settings (AI provider keys, the Slack bot's installations, ...), and vault
ciphertext in the data directory's JSON files (plugins' caches, e.g. Mastodon app registrations).
Key rotation, the start-up check and `ocma doctor` all walk this one inventory."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Table, select, update
from sqlmodel import Session, SQLModel

# A Fernet token: version byte 0x80 and a 64-bit timestamp whose high bytes are zero, base64url ("gAAAAA..."),
# at least 73 bytes (100 characters) long.
_FERNET = re.compile(r"gAAAAA[A-Za-z0-9_-]{90,}={0,2}")
# JSON columns where the core and plugins keep vault ciphertext next to plain settings.
SETTINGS_COLUMNS = {"workspace": "settings", "account": "settings"}
# Keys that name a secret: a plain string under one of these in a data-directory file is reported.
_SECRET_NAME = re.compile(r"(secret|token|password|private_key|api_key)$", re.IGNORECASE)


@dataclass(frozen=True)
class StoredSecret:
    """One secret at rest: where it is (for messages, never the value) and its ciphertext."""

    where: str
    ciphertext: str


def is_ciphertext(value: object) -> bool:
    """True for a string that is a vault (Fernet) token."""
    return isinstance(value, str) and _FERNET.fullmatch(value) is not None


def tables() -> list[Table]:
    """Every table of OCMA's schema."""
    import ocma_core.db.models  # noqa: F401  (registers every table on the metadata)

    return list(SQLModel.metadata.sorted_tables)


def encrypted_columns() -> list[tuple[str, str]]:
    """(table, column) of every column that holds one secret: by convention its name ends in `_enc`."""
    return [(t.name, c.name) for t in tables() for c in t.columns if c.name.endswith("_enc")]


def _label(table: Table, row: Any) -> str:
    key = "/".join(str(row._mapping[c.name]) for c in table.primary_key.columns)
    return f"{table.name} {key}"


def secret_columns(table: Table) -> list[Column[Any]]:
    """The columns of `table` that hold secrets: `*_enc` columns and the settings JSON of SETTINGS_COLUMNS."""
    columns = [c for c in table.columns if c.name.endswith("_enc")]
    if table.name in SETTINGS_COLUMNS:
        columns.append(table.c[SETTINGS_COLUMNS[table.name]])
    return columns


def walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, ciphertext) of every vault token inside a JSON value (or the value itself)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")
    elif is_ciphertext(value):
        yield path, value


def _mapped(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, dict):
        return {key: _mapped(item, fn) for key, item in value.items()}
    if isinstance(value, list):
        return [_mapped(item, fn) for item in value]
    return fn(value) if is_ciphertext(value) else value


def database_secrets(session: Session) -> Iterator[StoredSecret]:
    """Every secret in the database."""
    for table in tables():
        pk = list(table.primary_key.columns)
        columns = secret_columns(table)
        if not columns:
            continue
        for row in session.connection().execute(select(*pk, *columns)):
            for column in columns:
                value = row._mapping[column.name]
                for path, token in walk(value, column.name) if value else ():
                    yield StoredSecret(f"{_label(table, row)}: {path}", token)


def rotate_database(session: Session, fn: Callable[[str], str]) -> int:
    """Replace every secret in the database by `fn(ciphertext)` in the caller's transaction; returns the count."""
    count = 0
    for table in tables():
        pk = list(table.primary_key.columns)
        for column in secret_columns(table):
            for row in session.connection().execute(select(*pk, column).with_for_update()).all():
                value = row._mapping[column.name]
                found = sum(1 for _ in walk(value, "")) if value else 0
                if not found:
                    continue
                where = [c == row._mapping[c.name] for c in pk]
                session.connection().execute(
                    update(table).where(*where).values({column.name: _mapped(value, fn)})
                )
                count += found
    return count


def data_files(data_dir: Path) -> list[Path]:
    """The JSON files directly in the data directory (where plugins keep their caches)."""
    return sorted(p for p in data_dir.glob("*.json") if p.is_file()) if data_dir.is_dir() else []


def read_json(path: Path) -> Any:
    """A JSON file's content, or None when it is missing or not JSON."""
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def file_secrets(data_dir: Path) -> Iterator[StoredSecret]:
    """Every vault ciphertext in the data directory's JSON files."""
    for path in data_files(data_dir):
        for where, token in walk(read_json(path), ""):
            yield StoredSecret(f"{path}: {where}", token)


def rotate_files(data_dir: Path, fn: Callable[[str], str]) -> int:
    """Rewrite each data-directory JSON file with `fn` applied to its ciphertexts (atomically, mode 0600)."""
    count = 0
    for path in data_files(data_dir):
        data = read_json(path)
        found = sum(1 for _ in walk(data, ""))
        if not found:
            continue
        tmp = path.with_name(path.name + ".rotating")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(_mapped(data, fn), handle, indent=2, sort_keys=True)
        os.replace(tmp, path)
        count += found
    return count


def plain_secrets_in_files(data_dir: Path) -> list[str]:
    """Where a data-directory JSON file keeps a value named like a secret in plain text."""
    found: list[str] = []

    def visit(value: Any, path: str, key: str) -> None:
        if isinstance(value, dict):
            for k, item in value.items():
                visit(item, f"{path}.{k}" if path else str(k), str(k))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                visit(item, f"{path}[{index}]", key)
        elif isinstance(value, str) and value and _SECRET_NAME.search(key) and not is_ciphertext(value):
            found.append(f"{path}")

    for file in data_files(data_dir):
        before = len(found)
        visit(read_json(file), "", "")
        found[before:] = [f"{file}: {where}" for where in found[before:]]
    return found
