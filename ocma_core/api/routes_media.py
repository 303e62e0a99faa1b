"""Media upload and signed public URLs."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, File, Form, HTTPException, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel

from ocma_core.api.auth import Caller, get_ocma, require
from ocma_core.api.openapi import errors
from ocma_core.context import Ocma
from ocma_core.db.models import Media
from ocma_core.media import verify_media_signature
from ocma_core.permissions import Action
from ocma_core.services.media import get_media, public_media_url, store_upload

router = APIRouter(tags=["media"])


class MediaOut(BaseModel):
    """A stored file and its signed public URL."""

    id: str
    mime_type: str
    size: int
    sha256: str
    width: int | None
    height: int | None
    alt_text: str
    url: str
    created_at: datetime


def media_out(ocma: Ocma, media: Media) -> MediaOut:
    """A stored media item as the API shows it, with a fresh signed public URL."""
    return MediaOut(
        id=media.id,
        mime_type=media.mime_type,
        size=media.size,
        sha256=media.sha256,
        width=media.width,
        height=media.height,
        alt_text=media.alt_text,
        url=public_media_url(ocma, media),
        created_at=media.created_at,
    )


@router.post("/v1/media", status_code=201, responses=errors(503))
async def upload(
    file: UploadFile = File(...),
    alt_text: str = Form(
        "", max_length=2000, pattern=r"^[^\x00]*$", description="Describes the image for screen readers."
    ),
    caller: Caller = Depends(require(Action.MEDIA_UPLOAD)),
    ocma: Ocma = Depends(get_ocma),
) -> MediaOut:
    """Upload an image or video (stored once by content hash); its type is read from its bytes, never its name."""
    import asyncio

    media = await asyncio.to_thread(
        store_upload,
        ocma,
        caller.workspace_id,
        file.file,
        filename=file.filename or "",
        claimed_type=file.content_type,
        alt_text=alt_text,
    )
    return media_out(ocma, media)


@router.get("/v1/media/{media_id}")
def media_info(
    media_id: str, caller: Caller = Depends(require(Action.MEDIA_READ)), ocma: Ocma = Depends(get_ocma)
) -> MediaOut:
    """A media record with a fresh signed URL."""
    return media_out(ocma, get_media(ocma, caller.workspace_id, media_id))


@router.get("/media/{media_id}", include_in_schema=False)
def public_media(media_id: str, exp: int = 0, sig: str = "", ocma: Ocma = Depends(get_ocma)) -> Response:
    """Serve a file to anyone holding a valid, unexpired signed URL (platforms fetch media this way)."""
    if not verify_media_signature(media_id, exp, sig, ocma.vault_secret_for_urls()):
        raise HTTPException(403, "This media link is invalid or has expired.")
    with ocma.session() as session:
        media = session.get(Media, media_id)
    if media is None:
        raise HTTPException(404, "No such media.")
    # The type was sniffed at upload; nosniff stops a browser from guessing another (e.g. HTML) from the bytes.
    return Response(
        ocma.media.get(media.storage_key),
        media_type=media.mime_type,
        headers={"X-Content-Type-Options": "nosniff"},
    )
