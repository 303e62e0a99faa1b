"""`ocma db upgrade` on PostgreSQL takes an advisory lock: a second deploy waits, then finds nothing to do."""

from __future__ import annotations

import logging
import os
import subprocess

import psycopg
import pytest
from ops_support import OCMA, wait_until

from ocma_core.context import Ocma
from ocma_core.db.migrate import MIGRATION_LOCK, ensure_current, head_revision
from ocma_core.errors import ConfigError


def _env(url: str, tmp: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCMA_")}
    env.update(OCMA_DATABASE_URL=url, OCMA_DATA_DIR=tmp, OCMA_ENCRYPTION_KEYS="")
    return env


def _revision(url: str) -> str | None:
    with psycopg.connect(url) as conn:
        exists = conn.execute("SELECT to_regclass('alembic_version')").fetchone()
        if exists is None or exists[0] is None:
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return None if row is None else str(row[0])


@pytest.mark.postgres
def test_a_second_upgrade_waits_for_the_first(empty_pg: str, tmp_path: object) -> None:
    env = _env(empty_pg, str(tmp_path))
    holder = psycopg.connect(empty_pg, autocommit=True)
    try:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))  # another deploy is migrating
        proc = subprocess.Popen(
            [OCMA, "db", "upgrade"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        waiting = holder.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s",
            (MIGRATION_LOCK,),
        )
        assert waiting is not None
        wait_until(
            lambda: (
                holder.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s",
                    (MIGRATION_LOCK,),
                ).fetchone()[0]  # type: ignore[index]
                == 1
            ),
            120,
            "`ocma db upgrade` to queue behind the lock",
        )
        assert proc.poll() is None and _revision(empty_pg) is None  # it waits and has changed nothing
    finally:
        holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
        holder.close()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "Another process is migrating this database; waiting" in err
    assert f"Database at {head_revision()} (was empty)" in out
    assert _revision(empty_pg) == head_revision()


@pytest.mark.postgres
def test_two_upgrades_at_once_both_succeed(empty_pg: str, tmp_path: object) -> None:
    env = _env(empty_pg, str(tmp_path))
    procs = [
        subprocess.Popen(
            [OCMA, "db", "upgrade"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert _revision(empty_pg) == head_revision()


def test_a_previous_release_starts_against_a_newer_schema_but_not_an_older_one(
    ocma: Ocma, caplog: pytest.LogCaptureFixture
) -> None:
    """Rolling upgrades: migrations only expand, so release N runs on N+1's schema; never on N-1's."""
    from sqlalchemy import text

    def stamp(revision: str) -> None:
        with ocma.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})

    try:
        stamp("9999_from_the_next_release")
        with caplog.at_level(logging.WARNING, logger="ocma_core.db.migrate"):
            ensure_current(ocma.engine, auto_upgrade_empty=False)
        assert "newer than this OCMA knows" in caplog.text
        stamp("0001")
        with pytest.raises(ConfigError, match="this OCMA needs") as refused:
            ensure_current(ocma.engine, auto_upgrade_empty=False)
        assert "ocma db upgrade" in (refused.value.fix or "")
    finally:
        stamp(str(head_revision()))  # the session's database is shared with the tests that follow
