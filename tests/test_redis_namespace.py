"""Redis keys carry the installation's namespace: another installation on the same Redis database never pops
this one's due targets, and a copy of the database is refused the namespace until it takes its own id."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from cryptography.fernet import Fernet
from tests_support import REDIS_URL, need_service

from ocma_core.config import Settings
from ocma_core.context import Ocma
from ocma_core.db.types import utcnow
from ocma_core.engine.namespace import installation_id, new_installation_id
from ocma_core.errors import ConfigError


def _ocma(template: Path, where: Path) -> Ocma:
    where.mkdir(parents=True, exist_ok=True)
    if not (where / "ocma.db").exists():
        shutil.copy(template, where / "ocma.db")
    settings = Settings(
        data_dir=where,
        database_url=f"sqlite:///{where / 'ocma.db'}",
        redis_url=REDIS_URL,
        encryption_keys=Fernet.generate_key().decode(),
        _env_file=None,  # type: ignore[call-arg]
    )
    return Ocma(settings)


@pytest.fixture
def template(sqlite_template: Path, tmp_path: Path) -> Path:
    """A migrated database with an identity of its own (the session template is copied per installation)."""
    need_service("redis", REDIS_URL)
    redis.Redis.from_url(REDIS_URL).flushdb()
    return sqlite_template


def test_two_installations_on_one_redis_keep_to_their_own_work(template: Path, tmp_path: Path) -> None:
    first = _ocma(template, tmp_path / "first")
    second = _ocma(template, tmp_path / "second")
    new_installation_id(second)  # both came from one template file: give the second its own identity
    second = _ocma(template, tmp_path / "second")
    assert installation_id(first) != installation_id(second)
    due = utcnow() - timedelta(seconds=1)
    first.queue.push("first-target", due)
    second.queue.push("second-target", due)
    assert second.queue.pop_due(10) == ["second-target"]  # before: it also took the first one's target
    assert first.queue.pop_due(10) == ["first-target"]
    assert first.redis_namespace == f"ocma:{installation_id(first)}:"
    keys = {k.decode() for k in redis.Redis.from_url(REDIS_URL).keys("*")}
    assert all(
        k.startswith(("ocma:" + installation_id(first), "ocma:" + installation_id(second))) for k in keys
    )


def test_a_copy_of_the_database_is_refused_the_namespace(template: Path, tmp_path: Path) -> None:
    original = _ocma(template, tmp_path / "original")
    original.queue.push("original-target", utcnow())
    (tmp_path / "copy").mkdir()
    shutil.copy(tmp_path / "original" / "ocma.db", tmp_path / "copy" / "ocma.db")  # a restored backup
    copy = _ocma(template, tmp_path / "copy")
    with pytest.raises(ConfigError) as refused:
        _ = copy.queue
    assert "ocma db new-installation-id" in (refused.value.fix or "")
    new_installation_id(copy)
    assert _ocma(template, tmp_path / "copy").queue.pop_due(10) == []  # its own, empty namespace
