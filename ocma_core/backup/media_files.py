"""Media bytes in and out of a backup, through the configured media store (local directory or S3)."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlmodel import select

from ocma_core.context import Ocma
from ocma_core.errors import NotFoundError


def stored_media(ocma: Ocma) -> dict[str, str]:
    """Storage key -> MIME type of every media row (a file shared by workspaces is listed once)."""
    from ocma_core.db.models import Media

    with ocma.session() as session:
        rows = session.exec(select(Media.storage_key, Media.mime_type)).all()
    return {key: mime for key, mime in rows}


def export_media(ocma: Ocma, folder: Path) -> tuple[int, int, list[str]]:
    """Copy every stored file into `folder`; returns (files, bytes, keys whose bytes are missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    count = size = 0
    missing: list[str] = []
    for key in sorted(stored_media(ocma)):
        try:
            source = ocma.media.local_path(key)
            if not source.exists():
                raise NotFoundError(key)
        except NotFoundError:
            missing.append(key)
            continue
        shutil.copyfile(source, folder / key)
        count, size = count + 1, size + (folder / key).stat().st_size
    return count, size, missing


def import_media(ocma: Ocma, folder: Path) -> int:
    """Put every file of `folder` into the media store (keys already there are kept); returns the count."""
    if not folder.is_dir():
        return 0
    mimes = stored_media(ocma)
    count = 0
    for path in sorted(folder.iterdir()):
        ocma.media.put(path.name, path.read_bytes(), mimes.get(path.name, "application/octet-stream"))
        count += 1
    return count
