"""media: upload a file, list and show stored media (each with its signed public URL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ocma_core.cli.common import (
    Column,
    context,
    emit_list,
    emit_record,
    examples,
    json_option,
    workspace_id,
    workspace_option,
)


@click.group()
def media() -> None:
    """Images and videos to attach to posts (stored once, by content)."""


def _row(ocma: Any, item: Any) -> dict[str, Any]:
    from ocma_core.services.media import public_media_url

    return {
        "id": item.id,
        "filename": item.filename,
        "mime_type": item.mime_type,
        "size": item.size,
        "width": item.width,
        "height": item.height,
        "alt_text": item.alt_text,
        "sha256": item.sha256,
        "created_at": item.created_at,
        "url": public_media_url(ocma, item),
    }


@examples(
    'ocma media upload photo.jpg --alt "Our team at the Leipzig shop"',
    "ocma media upload clip.mp4 --json",
)
@media.command("upload")
@workspace_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--alt", "alt_text", default="", help="Alt text describing the image for screen readers.")
@json_option
def upload(workspace: str | None, file: Path, alt_text: str, as_json: bool) -> None:
    """Store FILE (JPEG, PNG, GIF, WebP, MP4, MOV, WebM) and print its media id for `--media`."""
    from ocma_core.services.media import store_media

    ocma = context()
    ws = workspace_id(ocma, workspace)
    stored = store_media(ocma, ws, file.read_bytes(), filename=file.name, alt_text=alt_text)
    row = _row(ocma, stored)
    if as_json:
        emit_record(row, as_json=True)
        return
    size = f", {row['width']}x{row['height']}" if row["width"] else ""
    click.echo(f"Stored {file.name} as media {stored.id} ({stored.mime_type}{size}, {stored.size} bytes).")
    click.echo(f'Attach it: ocma posts create "TEXT" -a ACCOUNT_ID --media {stored.id}')


@examples("ocma media list", "ocma media list --json")
@media.command("list")
@workspace_option
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=100, show_default=True, help="At most this many."
)
@json_option
def list_(workspace: str | None, limit: int, as_json: bool) -> None:
    """Stored media, newest first."""
    from ocma_core.services.media import list_media

    ocma = context()
    rows = [_row(ocma, m) for m in list_media(ocma, workspace_id(ocma, workspace), limit=limit)]
    emit_list(
        rows,
        [
            Column("id", "id", kind="id"),
            Column("type", "mime_type"),
            Column("size", lambda r: f"{r['width']}x{r['height']}" if r["width"] else ""),
            Column("bytes", "size"),
            Column("file", "filename", kind="text"),
            Column("alt text", "alt_text", kind="text", max_chars=40),
        ],
        as_json=as_json,
        empty="No media yet: ocma media upload FILE stores one.",
    )


@examples("ocma media show MEDIA_ID", "ocma media show MEDIA_ID --json")
@media.command("show")
@workspace_option
@click.argument("media_id")
@json_option
def show(workspace: str | None, media_id: str, as_json: bool) -> None:
    """MEDIA_ID's details and a fresh signed public URL."""
    from ocma_core.services.media import get_media

    ocma = context()
    emit_record(_row(ocma, get_media(ocma, workspace_id(ocma, workspace), media_id)), as_json=as_json)
