"""Storing media once per workspace and turning it into platform-ready items."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import BinaryIO

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from ocma_core.context import Ocma
from ocma_core.db.models import Media
from ocma_core.errors import NotFoundError
from ocma_core.media import sha256_hex, sign_media_url
from ocma_core.media_check import MediaFacts, inspect, spooled_copy
from ocma_core.platforms import MediaItem


def store_media(
    ocma: Ocma,
    workspace_id: str,
    data: bytes,
    *,
    filename: str = "",
    alt_text: str = "",
    meta: dict[str, object] | None = None,
) -> Media:
    """Store bytes (deduplicated by SHA-256) and return the media record; the bytes must prove their type."""
    facts = inspect(io.BytesIO(data), len(data), filename)
    return _record(
        ocma,
        workspace_id,
        sha256_hex(data),
        len(data),
        facts,
        lambda key: ocma.media.put(key, data, facts.mime_type),
        filename=filename,
        alt_text=alt_text,
        meta=meta,
    )


def store_upload(
    ocma: Ocma,
    workspace_id: str,
    source: BinaryIO,
    *,
    filename: str = "",
    claimed_type: str | None = None,
    alt_text: str = "",
) -> Media:
    """Store an uploaded stream: copied to disk in pieces while hashing, checked, then moved into the store."""
    with spooled_copy(source, ocma.settings.data_dir / "incoming") as (path, digest, size):
        with path.open("rb") as copy:
            facts = inspect(copy, size, filename, claimed_type)
        return _record(
            ocma,
            workspace_id,
            digest,
            size,
            facts,
            lambda key: ocma.media.put_file(key, path, facts.mime_type),
            filename=filename,
            alt_text=alt_text,
        )


def _record(
    ocma: Ocma,
    workspace_id: str,
    digest: str,
    size: int,
    facts: MediaFacts,
    put: Callable[[str], None],
    *,
    filename: str,
    alt_text: str,
    meta: dict[str, object] | None = None,
) -> Media:
    """The workspace's record of these bytes: the existing one, or a new one after the bytes are stored."""
    clean_name = "".join(ch for ch in filename if ch.isprintable())[:255]
    try:
        with ocma.session() as session:
            existing = session.exec(
                select(Media).where(Media.workspace_id == workspace_id, Media.sha256 == digest)
            ).first()
            if existing is not None:
                return existing
            put(digest)
            media = Media(
                workspace_id=workspace_id,
                sha256=digest,
                mime_type=facts.mime_type,
                size=size,
                filename=clean_name,
                storage_key=digest,
                width=facts.width,
                height=facts.height,
                alt_text=alt_text,
                meta=dict(meta or {}),
            )
            session.add(media)
            session.flush()
            return media
    except IntegrityError:  # the same file uploaded by someone else at the same moment: theirs stands
        with ocma.session() as session:
            found = session.exec(
                select(Media).where(Media.workspace_id == workspace_id, Media.sha256 == digest)
            ).first()
            if found is None:
                raise
            return found


def get_media(ocma: Ocma, workspace_id: str, media_id: str) -> Media:
    """A media record of this workspace."""
    with ocma.session() as session:
        media = session.get(Media, media_id)
        if media is None or media.workspace_id != workspace_id:
            raise NotFoundError(
                f"No media {media_id!r}.",
                fix="Upload the file first and use the id it gets.",
                fixes={
                    "cli": "Upload it with `ocma media upload FILE` (ids: `ocma media list`).",
                    "api": "Upload it with POST /v1/media first.",
                },
            )
        return media


def list_media(ocma: Ocma, workspace_id: str, *, limit: int = 100, offset: int = 0) -> list[Media]:
    """The workspace's media, newest first."""
    with ocma.session() as session:
        query = (
            select(Media)
            .where(Media.workspace_id == workspace_id)
            .order_by(col(Media.created_at).desc(), col(Media.id))
        )
        return list(session.exec(query.offset(offset).limit(limit)))


def public_media_url(ocma: Ocma, media: Media) -> str:
    """A signed, expiring public URL (Meta and TikTok fetch media from such URLs)."""
    secret = ocma.vault_secret_for_urls()
    return sign_media_url(ocma.settings.public_url, media.id, secret, ocma.settings.media_url_ttl_s)


def media_items(ocma: Ocma, workspace_id: str, media_ids: list[str]) -> list[MediaItem]:
    """Platform-ready items for a post's media, in order."""
    items = []
    for media_id in media_ids:
        media = get_media(ocma, workspace_id, media_id)
        items.append(
            MediaItem(
                path=ocma.media.local_path(media.storage_key),
                mime_type=media.mime_type,
                size=media.size,
                sha256=media.sha256,
                alt_text=media.alt_text,
                width=media.width,
                height=media.height,
                public_url=public_media_url(ocma, media),
                media_id=media.id,
            )
        )
    return items
