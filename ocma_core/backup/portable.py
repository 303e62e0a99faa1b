"""A portable database copy: every table as JSON lines, read and written through OCMA's models.

Needs no client tools, and restores into either backend (a SQLite install can move to PostgreSQL this way).
The database must be at the newest migration when it is dumped and is created at that migration on restore.
"""

from __future__ import annotations

import base64
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, Table, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

from ocma_core.errors import ConfigError

BATCH = 500


def tables() -> list[Table]:
    """OCMA's tables, parents before children."""
    import ocma_core.db.analytics_models
    import ocma_core.db.models  # noqa: F401

    return list(SQLModel.metadata.sorted_tables)


def _kind(column: Any) -> type | None:
    """The Python type a column holds (a TypeDecorator's is its underlying type's)."""
    sa_type = column.type
    if isinstance(sa_type, TypeDecorator):
        sa_type = sa_type.impl_instance
    try:
        kind: type = sa_type.python_type
    except NotImplementedError:
        return None
    return kind


def _encode(value: Any, kind: type | None) -> Any:
    if value is None:
        return None
    if kind is not None and issubclass(kind, datetime | date):
        return value.isoformat()
    if kind is bytes:
        return base64.b64encode(value).decode("ascii")
    return value


def _decode(value: Any, kind: type | None) -> Any:
    if value is None:
        return None
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    if kind is bytes:
        return base64.b64decode(value)
    return value


def _check_known(conn: Connection, known: list[Table]) -> None:
    names = {t.name for t in known} | {"alembic_version"}
    unknown = sorted(set(inspect(conn).get_table_names()) - names)
    if unknown:
        raise ConfigError(
            f"The database has tables OCMA's models do not describe ({', '.join(unknown)}), so a portable "
            "copy would leave them out.",
            fix="Use the native format (the default), which copies the whole database.",
        )


def dump(engine: Engine, dest: Path) -> dict[str, int]:
    """Write every row of every table to `dest` (one JSON object a line); returns rows per table."""
    counts: dict[str, int] = {}
    known = tables()
    with engine.connect() as conn, dest.open("w", encoding="utf-8") as out:
        _check_known(conn, known)
        for table in known:
            kinds = {c.name: _kind(c) for c in table.columns}
            counts[table.name] = 0
            for row in conn.execute(table.select().order_by(*table.primary_key.columns)).mappings():
                values = {name: _encode(row[name], kinds[name]) for name in kinds}
                out.write(json.dumps({"t": table.name, "r": values}, ensure_ascii=False) + "\n")
                counts[table.name] += 1
    return counts


def load(engine: Engine, source: Path) -> None:
    """Replace the rows of a fresh schema at the newest migration with those of `source`, in one transaction."""
    by_name = {t.name: t for t in tables()}
    kinds = {t.name: {c.name: _kind(c) for c in t.columns} for t in by_name.values()}
    pending: dict[str, list[dict[str, Any]]] = {}
    with engine.begin() as conn:
        for table in reversed(tables()):  # rows the migrations seeded (e.g. the installation id) give way
            conn.execute(table.delete())
        with source.open(encoding="utf-8") as lines:
            for line in lines:
                item = json.loads(line)
                table = by_name.get(item["t"])
                if table is None:
                    raise ConfigError(
                        f"The backup holds table {item['t']!r}, which this OCMA does not know.",
                        fix="Restore it with the OCMA version that made it.",
                    )
                row = {k: _decode(v, kinds[table.name].get(k)) for k, v in item["r"].items()}
                pending.setdefault(table.name, []).append(row)
                if len(pending[table.name]) >= BATCH:
                    _flush(conn, by_name, pending)
        _flush(conn, by_name, pending)
        if conn.dialect.name == "postgresql":
            _advance_sequences(conn, list(by_name.values()))


def _flush(conn: Connection, by_name: dict[str, Table], pending: dict[str, list[dict[str, Any]]]) -> None:
    """Insert what is pending, parents first (rows arrive in table order, so this keeps foreign keys whole)."""
    order = [t.name for t in tables()]
    for name in sorted(pending, key=order.index):
        if pending[name]:
            conn.execute(by_name[name].insert(), pending[name])
            pending[name] = []


def _advance_sequences(conn: Connection, known: list[Table]) -> None:
    """Move each integer key's sequence past the restored rows."""
    for table in known:
        for column in table.primary_key.columns:
            if isinstance(column.type, Integer) and column.autoincrement in (True, "auto"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                        f'COALESCE(MAX("{column.name}"), 1)) FROM "{table.name}"'
                    )
                )
