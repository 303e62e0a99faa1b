"""Database engine and sessions for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _create_private_file(path: Path) -> None:
    """Create a missing SQLite file readable by this user only (SQLite gives its -wal and -shm the same mode)."""
    if path.exists():
        return
    from ocma_core.crypto import make_private_dir

    make_private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def make_engine(url: str, pool_size: int = 10, pool_timeout: float = 60.0) -> Engine:
    """A new engine for `url` holding at most `pool_size` connections (more work waits up to `pool_timeout`
    seconds for one, never opens more), with SQLite made safe for threads and concurrent writers."""
    parsed = make_url(url)
    pool: dict[str, Any] = {"pool_size": pool_size, "max_overflow": 0, "pool_timeout": pool_timeout}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _create_private_file(Path(parsed.database))
        else:
            pool = {}  # an in-memory database lives in one connection (SingletonThreadPool)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # Sessions in UTC: timestamps come back already in UTC (no per-value conversion on the hot read paths).
    options = {"options": "-c timezone=UTC"} if parsed.get_backend_name() == "postgresql" else {}
    engine = create_engine(url, pool_recycle=RECYCLE_S, connect_args=options, **pool)
    _ping_when_idle(engine)
    return engine


#: A pooled connection idle this long is pinged before use; one in steady use is not (a ping is a round trip).
IDLE_PING_S = 5.0
RECYCLE_S = 1800


def _ping_when_idle(engine: Engine) -> None:
    """Instead of a pre-ping per checkout: ping only a connection that sat idle, and let the pool replace one
    that does not answer. A connection dying in use fails that transaction (the engine's callers retry it) and
    SQLAlchemy then invalidates the pool's older connections."""
    from sqlalchemy.exc import DisconnectionError

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi: Any, record: Any) -> None:
        record.info["ocma_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("ocma_idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_S:
            return
        try:
            alive = engine.dialect.do_ping(dbapi)
        except Exception as exc:
            raise DisconnectionError(str(exc)) from exc
        if not alive:
            raise DisconnectionError("the connection did not answer a ping")


def get_engine(url: str, pool_size: int = 10, pool_timeout: float = 60.0) -> Engine:
    """A process-wide engine per URL (the first caller's pool size holds for the process)."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url, pool_size, pool_timeout)
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (after fork, or in tests)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error, so nothing half-written remains."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
