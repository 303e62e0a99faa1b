"""The application context every service receives: settings, database, vault, media store, queue."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlmodel import Session

from ocma_core.config import Settings, load_settings
from ocma_core.crypto import Vault, load_or_create_keys
from ocma_core.db.engine import get_engine, session_scope

if TYPE_CHECKING:
    from ocma_core.engine.budgets import Budgets
    from ocma_core.engine.queue import WorkQueue
    from ocma_core.media import MediaStore


class Ocma:
    """Holds what services share; cheap to create, everything is built on first use."""

    def __init__(self, settings: Settings | None = None, *, create_key: bool = False) -> None:
        self.settings = settings or load_settings()
        self._create_key = create_key
        import ocma_core.observe.origin  # noqa: F401  (new targets record the request that made them)

    @cached_property
    def engine(self) -> Engine:
        """The database engine."""
        settings = self.settings
        return get_engine(settings.resolved_database_url, settings.db_pool_size, settings.db_pool_timeout_s)

    @cached_property
    def encryption_keys(self) -> list[str]:
        """The configured (or generated) encryption keys, newest first, read once."""
        return load_or_create_keys(
            self.settings.encryption_keys, self.settings.key_file, create=self._create_key
        )

    @cached_property
    def vault(self) -> Vault:
        """Encrypts and decrypts secrets at rest."""
        return Vault(self.encryption_keys)

    @cached_property
    def media(self) -> MediaStore:
        """Where uploaded and generated files live."""
        from ocma_core.media import make_media_store

        return make_media_store(self.settings)

    @cached_property
    def queue(self) -> WorkQueue:
        """The work queue: Redis when OCMA_REDIS_URL is set, else the embedded one."""
        from ocma_core.engine.queue import make_queue

        return make_queue(self)

    @cached_property
    def budgets(self) -> Budgets:
        """Rate budgets of platform calls made outside a worker (e.g. deleting a post from the API or CLI);
        shared with every process through Redis when OCMA_REDIS_URL is set."""
        from ocma_core.engine.budgets import make_budgets

        if not self.settings.redis_url:
            return make_budgets(None)
        return make_budgets(self.settings.redis_url, prefix=self.redis_namespace)

    @cached_property
    def redis_namespace(self) -> str:
        """The prefix of this installation's Redis keys (`ocma:<installation id>:`, engine/namespace.py)."""
        from ocma_core.engine.namespace import installation_id, namespace

        return namespace(installation_id(self))

    def vault_secret_for_urls(self) -> str:
        """The secret that signs public media URLs (derived from the newest encryption key)."""
        return self.encryption_keys[0]

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transactional session: commits on success, rolls back on any error."""
        with session_scope(self.engine) as session:
            yield session

    def migrate(self, *, auto_upgrade_empty: bool = True) -> None:
        """Bring an empty database to the current schema; refuse an outdated one."""
        from ocma_core.db.migrate import ensure_current

        ensure_current(self.engine, auto_upgrade_empty=auto_upgrade_empty)
