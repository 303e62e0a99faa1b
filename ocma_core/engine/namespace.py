"""Redis keys namespaced by the installation's identity, never shared with another database.

Every Redis key of an installation starts with `ocma:<installation id>:` (the id lives in the database, table
`installation`), so workers of another installation, or a benchmark, on the same Redis database never pop
this one's due targets or spend its budgets. A copy of the database (a restored backup, a staging clone)
carries the same id: the first process to use the namespace records which database owns it, and a process
on another database is refused until the copy takes an id of its own (`ocma db new-installation-id`).
"""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from ocma_core.db.models import Installation
from ocma_core.db.types import utcnow
from ocma_core.errors import ConfigError

if TYPE_CHECKING:
    from ocma_core.context import Ocma

OWNER_TTL_S = 900  # a namespace whose workers have all been gone this long may be taken by another database

# Take or keep the namespace for this database; the other owner's fingerprint when it is taken.
_CLAIM = """
local owner = redis.call('GET', KEYS[1])
if owner == false or owner == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
  return ''
end
return owner
"""


def installation_id(ocma: Ocma) -> str:
    """This installation's identity (made by migration 0008, or now for a database made without it)."""
    with ocma.session() as session:
        row = session.get(Installation, "id")
        if row is None:
            row = Installation(key="id", value=uuid.uuid4().hex, created_at=utcnow())
            session.add(row)
        return row.value


def new_installation_id(ocma: Ocma) -> str:
    """Give this database a new identity (for a copy of another installation's database)."""
    value = uuid.uuid4().hex
    with ocma.session() as session:
        row = session.get(Installation, "id") or Installation(key="id", value=value, created_at=utcnow())
        row.value = value
        session.add(row)
    return value


def namespace(installation: str) -> str:
    """The prefix of every Redis key of an installation."""
    return f"ocma:{installation}:"


def database_fingerprint(ocma: Ocma) -> str:
    """Which database this is: a SQLite file's real path, or a PostgreSQL cluster's id, address and name."""
    url = ocma.engine.url
    if ocma.engine.dialect.name == "sqlite":
        return f"sqlite:{os.path.realpath(url.database or ':memory:')}"
    with ocma.engine.connect() as conn:
        try:
            with conn.begin_nested():
                system = str(conn.execute(text("SELECT system_identifier FROM pg_control_system()")).scalar())
        except Exception:  # a role without the right to read it: the address tells clusters apart
            system = ""
        where = conn.execute(
            text("SELECT inet_server_addr()::text, inet_server_port(), current_database()")
        ).one()
    return f"postgresql:{system}:{where[0] or url.host or ''}:{where[1] or url.port or ''}:{where[2]}"


def claim(client: Any, prefix: str, fingerprint: str) -> None:
    """Take (or keep) the namespace for this database; ConfigError when another database owns it."""
    owner = client.eval(_CLAIM, 1, prefix + "owner", fingerprint, OWNER_TTL_S)
    owner = owner.decode() if isinstance(owner, bytes) else str(owner or "")
    if owner:
        raise ConfigError(
            f"The Redis namespace {prefix}* belongs to another database ({owner}), not this one "
            f"({fingerprint}): both carry the same installation id, so this database is probably a copy "
            "of the other. Sharing it would let each one's workers publish the other's posts.",
            fix="Give the copy its own identity with `ocma db new-installation-id`, or point OCMA_REDIS_URL "
            "at a Redis database of its own.",
        )
