"""Settings that point the TikTok plugin at FakeTikTok, a host for the media TikTok pulls, and test videos."""

from __future__ import annotations

import hashlib
import io
import random
import secrets
import struct
from pathlib import Path

from fake_tiktok import CLIENT_KEY, CLIENT_SECRET, FakeTikTok
from ocma_tiktok import TikTokPlatform
from PIL import Image

from ocma_core import AccountContext, MediaItem
from ocma_core.oauth_client import authorize_url, new_code_verifier
from ocma_core.testing import FakeRequest, FakeResponse, FakeServer

REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback/tiktok"


def tiktok_env(fake: FakeTikTok, **more: str) -> dict[str, str]:
    """The plugin's settings for the fake (login and API on the one fake)."""
    return {
        "OCMA_TIKTOK_API_BASE": fake.base_url,
        "OCMA_TIKTOK_AUTH_BASE": fake.base_url,
        "OCMA_TIKTOK_CLIENT_KEY": CLIENT_KEY,
        "OCMA_TIKTOK_CLIENT_SECRET": CLIENT_SECRET,
        **more,
    }


def mp4_bytes(duration_s: float, payload: int, seed: int = 1) -> bytes:
    """An MP4 container: `ftyp`, a `moov` whose `mvhd` declares `duration_s`, and `payload` bytes of `mdat`
    (seeded random bytes, so a chunk out of place or lost shows)."""
    ftyp = struct.pack(">I4s4sI8s", 24, b"ftyp", b"isom", 512, b"isommp42")
    mvhd_body = struct.pack(">B3xIIII", 0, 0, 0, 1000, int(duration_s * 1000)) + bytes(80)
    mvhd = struct.pack(">I4s", 8 + len(mvhd_body), b"mvhd") + mvhd_body
    moov = struct.pack(">I4s", 8 + len(mvhd), b"moov") + mvhd
    mdat = struct.pack(">I4s", 8 + payload, b"mdat") + random.Random(seed).randbytes(payload)
    return ftyp + moov + mdat


def item_for(path: Path, data: bytes, mime: str, url: str = "") -> MediaItem:
    """A MediaItem for bytes written at `path`."""
    path.write_bytes(data)
    return MediaItem(
        path=path,
        mime_type=mime,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        public_url=url or None,
    )


class MediaHost(FakeServer):
    """Serves files at /media/<name> as OCMA's signed media URLs do."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, tuple[str, bytes]] = {}

        @self.route("GET", r"/media/(?P<name>[\w.-]+)")
        def serve(request: FakeRequest) -> FakeResponse:
            found = self.files.get(request.params["name"])
            if found is None:
                return FakeResponse(404, {"detail": "no such media"})
            return FakeResponse(200, found[1], {"Content-Type": found[0]})

    def add(self, tmp: Path, kind: str = "jpeg", data: bytes | None = None) -> MediaItem:
        """A served file: a real JPEG/PNG/WebP image, or an MP4 (`data`, or a one-second clip)."""
        ext = {"jpeg": "jpg", "png": "png", "webp": "webp", "video": "mp4"}[kind]
        if kind == "video":
            data, mime = data or mp4_bytes(1.0, 256), "video/mp4"
        else:
            buffer = io.BytesIO()
            Image.new("RGB", (8, 8), "orange").save(
                buffer, {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}[kind]
            )
            data, mime = buffer.getvalue(), f"image/{kind}"
        name = f"{secrets.token_hex(4)}.{ext}"
        self.files[name] = (mime, data)
        return item_for(tmp / name, data, mime, f"{self.base_url}/media/{name}?exp=9999999999&sig=test")


async def connect(platform: TikTokPlatform, fake: FakeTikTok) -> AccountContext:
    """Log in as the fake's user (with PKCE) and return the account's context as the core builds it."""
    verifier = new_code_verifier()
    url = authorize_url(
        platform.oauth_client(), state="state-1", redirect_uri=REDIRECT_URI, verifier=verifier
    )
    code, _ = fake.authorize(url)
    tokens = await platform.exchange_code(code, verifier, REDIRECT_URI)
    probe = AccountContext(
        account_id="", external_id="", handle="", tokens=tokens, settings=dict(tokens.extra)
    )
    profile = await platform.get_profile(probe)
    return AccountContext(
        account_id="acct-tt",
        external_id=profile.external_id,
        handle=profile.handle,
        tokens=tokens,
        settings={**tokens.extra, **profile.extra},
    )
