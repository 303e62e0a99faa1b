"""Settings that point the Instagram plugin at FakeInstagram, and a media host Meta's fake can download from."""

from __future__ import annotations

import hashlib
import io
import secrets
from pathlib import Path

from fake_instagram import APP_ID, APP_SECRET, FakeInstagram
from ocma_instagram import InstagramPlatform
from PIL import Image

from ocma_core import AccountContext, MediaItem
from ocma_core.oauth_client import authorize_url
from ocma_core.testing import FakeRequest, FakeResponse, FakeServer

REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback/instagram"


def instagram_env(fake: FakeInstagram, **more: str) -> dict[str, str]:
    """The plugin's settings for the fake (login, code exchange and API on the one fake)."""
    return {
        "OCMA_INSTAGRAM_API_BASE": fake.base_url,
        "OCMA_INSTAGRAM_AUTH_BASE": fake.base_url,
        "OCMA_INSTAGRAM_OAUTH_API_BASE": fake.base_url,
        "OCMA_INSTAGRAM_APP_ID": APP_ID,
        "OCMA_INSTAGRAM_APP_SECRET": APP_SECRET,
        **more,
    }


class MediaHost(FakeServer):
    """Serves files at /media/<name> as OCMA's signed media URLs do (counting each download)."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, tuple[str, bytes]] = {}
        self.downloads: list[str] = []

        @self.route("GET", r"/media/(?P<name>[\w.-]+)")
        def serve(request: FakeRequest) -> FakeResponse:
            found = self.files.get(request.params["name"])
            if found is None:
                return FakeResponse(404, {"detail": "no such media"})
            self.downloads.append(request.params["name"])
            return FakeResponse(200, found[1], {"Content-Type": found[0]})

    def add(self, tmp: Path, kind: str = "image", alt: str = "") -> MediaItem:
        """A new file (a real JPEG, or a few bytes labelled video/mp4), served and described as a MediaItem."""
        name = f"{secrets.token_hex(4)}.{'jpg' if kind == 'image' else 'mp4'}"
        if kind == "image":
            buffer = io.BytesIO()
            Image.new("RGB", (8, 8), "orange").save(buffer, "JPEG")
            data, mime = buffer.getvalue(), "image/jpeg"
        else:
            data, mime = b"\x00\x00\x00\x18ftypmp42" + secrets.token_bytes(64), "video/mp4"
        path = tmp / name
        path.write_bytes(data)
        self.files[name] = (mime, data)
        return MediaItem(
            path=path,
            mime_type=mime,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            alt_text=alt,
            public_url=f"{self.base_url}/media/{name}?exp=9999999999&sig=test",
        )


async def connect(platform: InstagramPlatform, fake: FakeInstagram) -> AccountContext:
    """Log in as the fake's user and return the account's context (as the core builds it)."""
    url = authorize_url(platform.oauth_client(), state="state-1", redirect_uri=REDIRECT_URI, verifier=None)
    code, _ = fake.authorize(url)
    tokens = await platform.exchange_code(code, None, REDIRECT_URI)
    probe = AccountContext(
        account_id="", external_id="", handle="", tokens=tokens, settings=dict(tokens.extra)
    )
    profile = await platform.get_profile(probe)
    return AccountContext(
        account_id="acct-ig",
        external_id=profile.external_id,
        handle=profile.handle,
        tokens=tokens,
        settings={**tokens.extra, **profile.extra},
    )
