"""Backups: one archive with the database, the media files and (only when asked) the encryption keys."""

from ocma_core.backup.archive import BackupReport, RestoreReport, create_backup
from ocma_core.backup.manifest import Manifest, key_fingerprint, read_manifest
from ocma_core.backup.restore import restore_backup

__all__ = [
    "BackupReport",
    "Manifest",
    "RestoreReport",
    "create_backup",
    "key_fingerprint",
    "read_manifest",
    "restore_backup",
]
