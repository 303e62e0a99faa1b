"""Helpers shared by the X plugin tests: the platform for a fake, connecting, test media files."""

from __future__ import annotations

import hashlib
import struct
import zlib
from pathlib import Path

from fake_x import CLIENT_ID, CONSUMER_SECRET, FakeX
from ocma_x import XPlatform

from ocma_core import AccountContext, MediaItem
from ocma_core.oauth_client import authorize_url, new_code_verifier
from ocma_core.testing.conformance import run


def platform_for(fake: FakeX, **extra: str) -> XPlatform:
    """The X platform configured for `fake` (public client unless a secret is given)."""
    env = {
        "OCMA_X_API_BASE": fake.base_url,
        "OCMA_X_AUTH_BASE": fake.base_url,
        "OCMA_X_CLIENT_ID": CLIENT_ID,
        "OCMA_X_CONSUMER_SECRET": CONSUMER_SECRET,
        **extra,
    }
    return XPlatform(env=env)


REDIRECT = "http://127.0.0.1:8000/oauth/callback/x"


def connect(platform: XPlatform, fake: FakeX) -> AccountContext:
    """Connect as a user would (authorize, code exchange with PKCE, who-am-I)."""
    verifier = new_code_verifier()
    url = authorize_url(platform.oauth_client(), state="s1", redirect_uri=REDIRECT, verifier=verifier)
    code, _ = fake.authorize(url)
    tokens = run(platform.exchange_code(code, verifier, REDIRECT))
    ctx = AccountContext(account_id="acct", external_id="", handle="", tokens=tokens)
    profile = run(platform.get_profile(ctx))
    return AccountContext(
        account_id="acct", external_id=profile.external_id, handle=profile.handle, tokens=tokens
    )


def png(width: int, height: int) -> bytes:
    """A valid PNG image of the given size (grey rows)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def item(path: Path, data: bytes, mime: str, alt: str = "") -> MediaItem:
    """Write `data` to `path` and describe it as an attachment."""
    path.write_bytes(data)
    return MediaItem(
        path=path, mime_type=mime, size=len(data), sha256=hashlib.sha256(data).hexdigest(), alt_text=alt
    )
