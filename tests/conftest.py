"""Shared fixtures: an isolated OCMA (data dir, key, database) per test, on SQLite and on PostgreSQL.

PostgreSQL and Redis come from OCMA_TEST_POSTGRES_URL and OCMA_TEST_REDIS_URL (set by .ci/run and by
`python3 dev.py test` when the servers answer). Without them those tests skip with the reason, except
under CI=true, where a missing service fails the run.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "example_platform"))
sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from cryptography.fernet import Fernet
from tests_support import IN_CI, PG_URL, REDIS_URL, need_service  # noqa: F401

from ocma_core.config import Settings
from ocma_core.context import Ocma
from ocma_core.db.engine import dispose_engines, make_engine
from ocma_core.plugins import PluginHost, reset_host


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once; each test copies it."""
    from ocma_core.db.migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "ocma.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throwaway PostgreSQL database migrated to head, dropped at the end."""
    need_service("postgres", PG_URL)
    from sqlalchemy import text

    from ocma_core.db.migrate import upgrade

    admin = make_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"ocma_test_{uuid.uuid4().hex[:10]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    dispose_engines()
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate(url: str) -> None:
    from sqlalchemy import text
    from sqlmodel import SQLModel

    import ocma_core.db.models  # noqa: F401

    engine = make_engine(url)
    names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend under test."""
    return str(request.param)


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Settings isolated to this test: own data dir, key and database."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        shutil.copy(template, tmp_path / "ocma.db")
        url = f"sqlite:///{tmp_path / 'ocma.db'}"
    else:
        url = request.getfixturevalue("pg_database")
        _truncate(url)
    return Settings(
        data_dir=tmp_path,
        database_url=url,
        encryption_keys=Fernet.generate_key().decode(),
        public_url="http://127.0.0.1:8000",
        weekly_report_at="off",  # tests that want report.weekly set a due time themselves
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def plugin_host(monkeypatch: pytest.MonkeyPatch) -> Iterator[PluginHost]:
    """A plugin host with only the example FakeSocial platform loaded."""
    import ocma_example_platform

    host = PluginHost()
    host.register(ocma_example_platform, name="ocma_example_platform")
    reset_host(host)
    yield host
    reset_host(None)


@pytest.fixture
def ocma(settings: Settings, plugin_host: PluginHost) -> Iterator[Ocma]:
    """An OCMA context on the test's database with the example platform."""
    yield Ocma(settings)
    dispose_engines()


@pytest.fixture
def workspace_id(ocma: Ocma) -> str:
    """A fresh workspace."""
    from ocma_core.services.workspaces import create_workspace

    return create_workspace(ocma, "Test team", timezone="Europe/Berlin", owner_email="owner@example.com").id


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, plugin_host: PluginHost) -> Iterator[object]:
    """A FakeSocial server, with the example platform pointed at it."""
    from ocma_core.registry import clear_caches
    from ocma_core.testing.fake_platform import CLIENT_ID, FakeSocial

    with FakeSocial() as server:
        monkeypatch.setenv("OCMA_FAKESOCIAL_API_BASE", server.base_url)
        monkeypatch.setenv("OCMA_FAKESOCIAL_CLIENT_ID", CLIENT_ID)
        clear_caches()
        yield server
        clear_caches()


@pytest.fixture
def account_id(ocma: Ocma, workspace_id: str, fake: object) -> str:
    """A FakeSocial account connected through the real OAuth flow."""
    from tests_support import connect_fakesocial

    return connect_fakesocial(ocma, workspace_id, fake)


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    """A clean machine: a data directory, a project directory and another directory, no OCMA_* settings."""
    import os

    saved = dict(os.environ)  # the CLI's main() writes the settings files' values into os.environ
    for name in list(os.environ):
        if name.startswith("OCMA_") and not name.startswith(("OCMA_TEST_", "OCMA_FAKESOCIAL_")):
            monkeypatch.delenv(name)
    places = {"data": tmp_path / "data", "project": tmp_path / "project", "elsewhere": tmp_path / "other"}
    places["project"].mkdir()
    places["elsewhere"].mkdir()
    monkeypatch.setenv("OCMA_DATA_DIR", str(places["data"]))
    monkeypatch.setenv("OCMA_WEEKLY_REPORT_AT", "off")
    monkeypatch.chdir(places["project"])
    yield places
    dispose_engines()
    os.environ.clear()
    os.environ.update(saved)
