"""Restore a backup archive: checks first, then the database, the media files and (if asked) the keys."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from ocma_core.backup import database, portable
from ocma_core.backup.archive import KEYS_FILE, RestoreReport, _extract
from ocma_core.backup.manifest import Manifest, key_fingerprint
from ocma_core.backup.media_files import import_media
from ocma_core.context import Ocma
from ocma_core.crypto import make_private_dir, parse_keys
from ocma_core.errors import ConfigError


def restore_backup(
    ocma: Ocma, archive: Path, *, replace: bool = False, with_keys: bool = False
) -> RestoreReport:
    """Restore `archive` into the configured database and media store; nothing is touched when a check fails."""
    from ocma_core.db.engine import dispose_engines

    make_private_dir(ocma.settings.data_dir)
    with tempfile.TemporaryDirectory(prefix=".ocma-restore-", dir=ocma.settings.data_dir) as tmp:
        staging = Path(tmp)
        manifest = _extract(archive, staging)
        _check_revision(manifest)
        _check_target(ocma, manifest, replace=replace)
        keys = _keys_to_write(ocma, staging, manifest, with_keys)
        _load_database(ocma, staging / manifest.db_file, manifest, replace=replace)
        dispose_engines()
        fresh = Ocma(ocma.settings)
        _check_rows(fresh, manifest)
        media = import_media(fresh, staging / "media")
    if keys is not None:
        _write_key_file(ocma, keys)
    return _report(Ocma(ocma.settings), manifest, media, keys is not None)


def _check_revision(manifest: Manifest) -> None:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from ocma_core.db.migrate import alembic_config

    try:
        known = ScriptDirectory.from_config(alembic_config()).get_revision(manifest.revision or "base")
    except CommandError:
        known = None
    if known is None:
        raise ConfigError(
            f"The backup's schema ({manifest.revision}, OCMA {manifest.ocma_version}) is newer than this OCMA knows.",
            fix=f"Install OCMA {manifest.ocma_version} or newer, then restore.",
        )


def _check_target(ocma: Ocma, manifest: Manifest, *, replace: bool) -> None:
    """The backend fits the archive; the database is empty, or `replace` and no worker is running."""
    from ocma_core.db.migrate import current_revision, head_revision

    native = {"sqlite": "sqlite", "pg_dump": "postgresql"}.get(manifest.db_format)
    backend = "sqlite" if ocma.settings.is_sqlite else "postgresql"
    if native is not None and native != backend:
        raise ConfigError(
            f"This backup holds a {native} database, but OCMA is configured for {backend}.",
            fix="Restore on a matching setup, or make the backup again with `ocma backup --format portable`.",
        )
    if manifest.db_format == "portable" and manifest.revision != head_revision():
        raise ConfigError(
            f"This portable backup is at migration {manifest.revision}; this OCMA restores portable backups "
            f"at {head_revision()} only.",
            fix=f"Restore it with OCMA {manifest.ocma_version}, run `ocma db upgrade`, and back up again.",
        )
    where = ocma.engine.url.render_as_string(hide_password=True)
    if current_revision(ocma.engine) is None:
        return
    if not replace:
        raise ConfigError(
            f"The database at {where} already holds OCMA data.",
            fix="Restore into an empty database, or add --replace to overwrite it (back it up first).",
        )
    live = _live_workers(ocma)
    if live:
        raise ConfigError(
            f"OCMA is running against {where} ({', '.join(live)} polled in the last "
            f"{ocma.settings.worker_stale_s:.0f} s).",
            fix="Stop every `ocma serve` and `ocma worker` first, then restore.",
        )


def _live_workers(ocma: Ocma) -> list[str]:
    from sqlmodel import select

    from ocma_core.db.models import WorkerHeartbeat
    from ocma_core.db.types import utcnow

    since = utcnow() - timedelta(seconds=ocma.settings.worker_stale_s)
    with ocma.session() as session:
        beats = session.exec(select(WorkerHeartbeat).where(WorkerHeartbeat.last_seen >= since)).all()
    return [b.id for b in beats]


def _keys_to_write(ocma: Ocma, staging: Path, manifest: Manifest, with_keys: bool) -> list[str] | None:
    """The archive's keys to put in the key file, after checking that doing so overwrites nothing."""
    if not with_keys:
        return None
    if not manifest.keys_included:
        raise ConfigError(
            "--with-keys was given, but this backup holds no keys (it was made without --include-keys).",
            fix="Leave out --with-keys and put the keys in place yourself.",
        )
    keys = parse_keys((staging / KEYS_FILE).read_text(encoding="ascii"))
    if ocma.settings.encryption_keys:
        raise ConfigError(
            "Keys here come from OCMA_ENCRYPTION_KEYS, so a key file from the backup would not be used.",
            fix="Leave out --with-keys and put the backup's keys into OCMA_ENCRYPTION_KEYS yourself.",
        )
    key_file = ocma.settings.key_file
    if key_file.exists() and parse_keys(key_file.read_text(encoding="ascii")) != keys:
        raise ConfigError(
            f"{key_file} exists and holds other keys; the restore never overwrites keys.",
            fix="Move that file away first if the backup's keys should replace it.",
        )
    return keys


def _write_key_file(ocma: Ocma, keys: list[str]) -> None:
    import os

    key_file = ocma.settings.key_file
    if key_file.exists():
        return  # the same keys (checked before the restore)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write("\n".join(keys) + "\n")


def _load_database(ocma: Ocma, source: Path, manifest: Manifest, *, replace: bool) -> None:
    url = ocma.settings.resolved_database_url
    if manifest.db_format == "sqlite":
        database.load_sqlite(url, source)
    elif manifest.db_format == "pg_dump":
        database.load_postgres(url, source, replace=replace)
    else:
        from ocma_core.db.migrate import upgrade

        # The archive is at this release's newest migration (checked before): bring the schema there, keeping
        # its rows, then swap every row in one transaction, so a failure part-way leaves the database as it was.
        upgrade(ocma.engine)
        portable.load(ocma.engine, source)


def _check_rows(ocma: Ocma, manifest: Manifest) -> None:
    """Every table holds as many rows as when the backup was made."""
    now = database.row_counts(ocma.engine)
    wrong = {t: (n, now.get(t)) for t, n in manifest.rows.items() if now.get(t) != n}
    if wrong:
        detail = ", ".join(f"{t}: {got} of {n}" for t, (n, got) in sorted(wrong.items()))
        raise ConfigError(
            f"The restored database does not hold what the backup recorded ({detail}).",
            fix="Restore into an empty database; if it happens again, the archive is damaged.",
        )


def _report(ocma: Ocma, manifest: Manifest, media: int, keys_written: bool) -> RestoreReport:
    from ocma_core.db.migrate import current_revision, head_revision
    from ocma_core.services.keys import check_secrets

    notes: list[str] = []
    try:
        secrets_ok = check_secrets(ocma).ok
    except ConfigError:
        secrets_ok = False
    if not secrets_ok:
        in_force = {key_fingerprint(k) for k in _keys_in_force(ocma)}
        missing = [fp for fp in manifest.key_fingerprints if fp not in in_force]
        notes.append(
            "The keys in force do not decrypt the restored secrets. The backup was made with keys "
            f"{', '.join(missing or manifest.key_fingerprints)} (fingerprints, as `ocma backup` printed them): "
            "put those keys in place (OCMA_ENCRYPTION_KEYS or the data directory's encryption.key)."
        )
    if current_revision(ocma.engine) != head_revision():
        notes.append(
            "The restored database is at an older migration: run `ocma db upgrade` before starting OCMA."
        )
    return RestoreReport(manifest, media, keys_written, secrets_ok, notes)


def _keys_in_force(ocma: Ocma) -> list[str]:
    try:
        return list(ocma.encryption_keys)
    except ConfigError:
        return []
