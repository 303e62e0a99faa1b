"""Helpers shared by the Pinterest plugin tests: the platform for a fake, connecting, test media, a media host."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from fake_pinterest import CLIENT_ID, CLIENT_SECRET, FakePinterest
from ocma_pinterest import PinterestPlatform
from PIL import Image

from ocma_core import AccountContext, MediaItem
from ocma_core.oauth_client import authorize_url
from ocma_core.testing import FakeRequest, FakeResponse, FakeServer
from ocma_core.testing.conformance import run

REDIRECT = "http://127.0.0.1:8000/oauth/callback/pinterest"


def platform_for(fake: FakePinterest, **extra: str) -> PinterestPlatform:
    """The Pinterest platform configured for `fake`."""
    env = {
        "OCMA_PINTEREST_API_BASE": fake.api_base,
        "OCMA_PINTEREST_AUTH_BASE": fake.base_url,
        "OCMA_PINTEREST_CLIENT_ID": CLIENT_ID,
        "OCMA_PINTEREST_CLIENT_SECRET": CLIENT_SECRET,
        **extra,
    }
    return PinterestPlatform(env=env)


def connect(platform: PinterestPlatform, fake: FakePinterest, board: str = "") -> AccountContext:
    """Connect as a user would (consent, code exchange with Basic auth, boards, who-am-I)."""
    url = authorize_url(platform.oauth_client(), state="s1", redirect_uri=REDIRECT, verifier=None)
    code, _ = fake.authorize(url)
    tokens = run(platform.exchange_code(code, None, REDIRECT, {"board": board} if board else None))
    ctx = AccountContext(
        account_id="acct", external_id="", handle="", tokens=tokens, settings=dict(tokens.extra)
    )
    profile = run(platform.get_profile(ctx))
    return AccountContext(
        account_id="acct",
        external_id=profile.external_id,
        handle=profile.handle,
        tokens=tokens,
        settings={**tokens.extra, **profile.extra},
    )


def jpeg(colour: str = "orange", size: int = 16) -> bytes:
    """A small, valid JPEG."""
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def item(path: Path, data: bytes, mime: str, alt: str = "", public_url: str | None = None) -> MediaItem:
    """Write `data` to `path` and describe it as an attachment."""
    path.write_bytes(data)
    return MediaItem(
        path=path,
        mime_type=mime,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        alt_text=alt,
        public_url=public_url,
    )


class MediaHost(FakeServer):
    """Serves files at /m/<name> the way OCMA's signed public media URLs do (Pinterest downloads them)."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, bytes] = {}

        @self.route("GET", r"^/m/(?P<name>[^/]+)$")
        def serve(request: FakeRequest) -> FakeResponse:
            data = self.files.get(request.params["name"])
            if data is None:
                return FakeResponse(404, b"", {"Content-Type": "text/plain"})
            return FakeResponse(200, data, {"Content-Type": "image/jpeg"})

    def put(self, name: str, data: bytes) -> str:
        """Serve `data` and return its URL."""
        self.files[name] = data
        return f"{self.base_url}/m/{name}"
