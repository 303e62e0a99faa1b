"""Make and restore a backup archive: manifest, database, media and (only when asked) the encryption keys."""

from __future__ import annotations

import os
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from ocma_core import __version__
from ocma_core.backup import database, portable
from ocma_core.backup.manifest import MANIFEST_NAME, Manifest, key_fingerprint, sha256_file
from ocma_core.backup.media_files import export_media
from ocma_core.context import Ocma
from ocma_core.errors import ConfigError

DbFormat = Literal["auto", "native", "portable"]
KEYS_FILE = "keys/encryption.key"


@dataclass
class BackupReport:
    """What `create_backup` wrote."""

    path: Path
    manifest: Manifest
    missing_media: list[str] = field(default_factory=list)


@dataclass
class RestoreReport:
    """What `restore_backup` restored, and what is left to do."""

    manifest: Manifest
    media: int
    keys_written: bool
    secrets_ok: bool
    notes: list[str] = field(default_factory=list)


def default_name(now: datetime | None = None) -> str:
    """ocma-backup-YYYYmmddTHHMMSSZ.tar.gz"""
    return f"ocma-backup-{(now or datetime.now(UTC)):%Y%m%dT%H%M%SZ}.tar.gz"


def _dump_database(ocma: Ocma, staging: Path, db_format: DbFormat) -> tuple[str, str]:
    """Write the database into `staging`; returns (format, archive path)."""
    url = ocma.settings.resolved_database_url
    if db_format == "portable" or (
        db_format == "auto" and not ocma.settings.is_sqlite and database.pg_tool("pg_dump") is None
    ):
        portable.dump(ocma.engine, staging / "database.jsonl")
        return "portable", "database.jsonl"
    if ocma.settings.is_sqlite:
        database.dump_sqlite(url, staging / "ocma.db")
        return "sqlite", "ocma.db"
    database.dump_postgres(url, staging / "ocma.pgdump")
    return "pg_dump", "ocma.pgdump"


def create_backup(
    ocma: Ocma, dest: Path, *, include_keys: bool = False, db_format: DbFormat = "auto"
) -> BackupReport:
    """Write one archive (mode 0600) with the database, the media files and, if `include_keys`, the keys."""
    from ocma_core.db.migrate import current_revision, head_revision

    revision = current_revision(ocma.engine)
    if revision is None:
        raise ConfigError("There is no OCMA database to back up yet.", fix="Run `ocma init` first.")
    if db_format == "portable" and revision != head_revision():
        raise ConfigError(
            "A portable backup needs the database at the newest migration.",
            fix="Run `ocma db upgrade` first.",
        )
    dest = dest / default_name() if dest.is_dir() else dest
    with tempfile.TemporaryDirectory(prefix=".ocma-backup-", dir=dest.parent) as tmp:
        staging = Path(tmp)
        fmt, db_file = _dump_database(ocma, staging, db_format)
        media_count, media_bytes, missing = export_media(ocma, staging / "media")
        if include_keys:
            (staging / "keys").mkdir()
            (staging / KEYS_FILE).write_text("\n".join(ocma.encryption_keys) + "\n", encoding="ascii")
        manifest = Manifest(
            ocma_version=__version__,
            created_at=datetime.now(UTC).isoformat(),
            backend="sqlite" if ocma.settings.is_sqlite else "postgresql",
            db_format=fmt,
            db_file=db_file,
            revision=revision,
            rows=database.row_counts(ocma.engine),
            media_count=media_count,
            media_bytes=media_bytes,
            keys_included=include_keys,
            key_fingerprints=[key_fingerprint(k) for k in ocma.encryption_keys],
            files={
                p.relative_to(staging).as_posix(): sha256_file(p) for p in staging.rglob("*") if p.is_file()
            },
        )
        (staging / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
        _write_tar(staging, dest)
    return BackupReport(dest, manifest, missing)


def _write_tar(staging: Path, dest: Path) -> None:
    """tar.gz of `staging` (manifest first), readable by this user only, renamed into place when complete."""
    partial = dest.with_name(dest.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            tar.add(staging / MANIFEST_NAME, arcname=MANIFEST_NAME)
            for path in sorted(staging.rglob("*")):
                if path.is_file() and path.name != MANIFEST_NAME:
                    tar.add(path, arcname=path.relative_to(staging).as_posix())
        os.replace(partial, dest)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _extract(archive: Path, into: Path) -> Manifest:
    """Unpack safely (no paths outside `into`, no links) and check every file against the manifest."""
    from ocma_core.backup.manifest import read_manifest

    manifest = read_manifest(archive)
    with tarfile.open(archive, "r:*") as tar:
        tar.extractall(into, filter="data")
    found = {p.relative_to(into).as_posix() for p in into.rglob("*") if p.is_file()} - {MANIFEST_NAME}
    if found != set(manifest.files):
        extra, lost = sorted(found - set(manifest.files)), sorted(set(manifest.files) - found)
        raise ConfigError(
            f"The backup {archive} is incomplete or altered (missing {lost or 'nothing'}, unexpected "
            f"{extra or 'nothing'}).",
            fix="Use another copy of the backup.",
        )
    for name, digest in manifest.files.items():
        if sha256_file(into / name) != digest:
            raise ConfigError(
                f"The backup {archive} is damaged: {name} does not match its checksum.",
                fix="Use another copy of the backup.",
            )
    return manifest
