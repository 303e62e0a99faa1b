"""Media: the signed public URL a platform (or a person) fetches a stored file from.

Part of the public app API (`ocma_core.app`): names here keep their meaning within a minor release."""

from __future__ import annotations

from ocma_core.media import sign_media_url
from ocma_core.services.media import public_media_url

__all__ = ["public_media_url", "sign_media_url"]
