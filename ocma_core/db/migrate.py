"""Schema migrations (Alembic) driven from code: upgrade, current revision, and the up-to-date check."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from ocma_core.errors import ConfigError

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic config pointing at OCMA's migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str | None:
    """The newest migration's revision id."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None when it has no OCMA schema yet)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


# pg_advisory_xact_lock key held while migrating ("ocma" in ASCII): two deploys never migrate at once.
MIGRATION_LOCK = 0x6F636D61


def upgrade(engine: Engine, revision: str = "head", on_wait: Callable[[], None] | None = None) -> None:
    """Apply migrations up to `revision`; on PostgreSQL under an advisory lock held until the migration commits,
    so a second `ocma db upgrade` waits (calling `on_wait` once), then finds nothing left to do."""
    _migrate(engine, lambda cfg: command.upgrade(cfg, revision), on_wait)


def downgrade(engine: Engine, revision: str) -> None:
    """Undo migrations back to `revision` (under the same advisory lock)."""
    _migrate(engine, lambda cfg: command.downgrade(cfg, revision))


def _lock(conn: Connection, on_wait: Callable[[], None] | None) -> None:
    """Take the migration lock for this transaction (PostgreSQL), saying so when another process holds it."""
    if conn.dialect.name != "postgresql":
        return
    took = conn.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}).scalar()
    if not took:
        if on_wait is not None:
            on_wait()
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})


def _migrate(
    engine: Engine, step: Callable[[Config], None], on_wait: Callable[[], None] | None = None
) -> None:
    """Run `step` in one transaction, under the migration lock. On SQLite, with foreign keys off while it runs
    (a table rebuild, how SQLite changes a constraint, cannot happen with them on, and the pragma is ignored
    inside a transaction); they are checked before the commit, so a migration cannot leave a dangling
    reference behind."""
    cfg = alembic_config()
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin():
                _lock(conn, on_wait)
                cfg.attributes["connection"] = conn
                step(cfg)
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise ConfigError(f"The migration would leave broken references: {broken[:5]}")
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def _known(revision: str) -> bool:
    """True when `revision` is one of this OCMA's migrations."""
    from alembic.util import CommandError

    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


def _newer(revision: str, head: str | None) -> bool:
    """True when `revision` numbers after `head` (migration ids start with a 4-digit sequence number)."""
    mine, theirs = head[:4] if head else "", revision[:4]
    return mine.isdigit() and theirs.isdigit() and int(theirs) > int(mine)


def ensure_current(engine: Engine, *, auto_upgrade_empty: bool) -> None:
    """Upgrade an empty database when allowed; refuse to run on one at an older migration."""
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    if current is None and auto_upgrade_empty:
        upgrade(engine)
        return
    if current is None:
        raise ConfigError(
            f"There is no OCMA database at {engine.url.render_as_string(hide_password=True)} yet.",
            fix="Run `ocma init` first: it creates the database, a workspace and an owner API key.",
        )
    if not _known(current) and _newer(current, head):
        # A newer release migrated first (a rolling deploy). Its migrations only expand the schema
        # (docs/operations.md, "Upgrades"), so this release keeps working until it is replaced.
        log.warning(
            "The database schema is at %s, newer than this OCMA knows (%s): running as the previous release "
            "during a rolling upgrade. Replace this process with the new release.",
            current,
            head,
        )
        return
    raise ConfigError(
        f"The database schema is at {current or 'nothing (empty database)'}, but this OCMA needs {head}.",
        fix="Back up the database, then run `ocma db upgrade`.",
    )
