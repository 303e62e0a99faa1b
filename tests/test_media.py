"""Media: stored once by content hash, served at signed URLs that expire, validated on upload."""

from __future__ import annotations

import struct
import time
import zlib
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.db.models import Media, Role
from ocma_core.media import sign_media_url, verify_media_signature
from ocma_core.services.workspaces import create_api_key


def png(width: int, height: int) -> bytes:
    """A valid PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_upload_dedupes_and_serves_signed_url(ocma: Ocma, workspace_id: str, fake: Any) -> None:
    key = create_api_key(ocma, workspace_id, role=Role.EDITOR).key
    auth = {"Authorization": f"Bearer {key}"}
    image = png(12, 7)
    with TestClient(create_app(ocma, run_worker=False)) as client:
        first = client.post(
            "/v1/media",
            headers=auth,
            files={"file": ("a.png", image, "image/png")},
            data={"alt_text": "A tiny test image"},
        )
        again = client.post("/v1/media", headers=auth, files={"file": ("b.png", image, "image/png")})
        assert first.status_code == 201 and again.json()["id"] == first.json()["id"]
        body = first.json()
        assert (body["width"], body["height"], body["mime_type"]) == (12, 7, "image/png")
        url = body["url"].replace("http://127.0.0.1:8000", "")
        served = client.get(url)
        assert served.status_code == 200 and served.content == image
        tampered = client.get(url.replace("sig=", "sig=0"))
        assert tampered.status_code == 403
        bad = client.post(
            "/v1/media", headers=auth, files={"file": ("x.exe", b"MZ\x90\x00binary", "image/png")}
        )
        assert bad.status_code == 422 and "is not an image or video" in bad.json()["detail"]
        empty = client.post("/v1/media", headers=auth, files={"file": ("e.png", b"", "image/png")})
        assert empty.status_code == 422


def test_signed_url_expires() -> None:
    url = sign_media_url("https://ocma.example", "m1", "secret", ttl_s=60, now=1000.0)
    exp = int(url.split("exp=")[1].split("&")[0])
    sig = url.split("sig=")[1]
    assert verify_media_signature("m1", exp, sig, "secret", now=1000.0)
    assert not verify_media_signature("m1", exp, sig, "secret", now=1061.0)
    assert not verify_media_signature("m2", exp, sig, "secret", now=1000.0)
    assert not verify_media_signature("m1", exp, sig, "other-secret", now=time.time() - 10**6)


@pytest.mark.parametrize("size", [(1, 1), (640, 480)])
def test_png_dimensions(size: tuple[int, int]) -> None:
    from ocma_core.media import image_size

    assert image_size(png(*size)) == size


@pytest.mark.parametrize(
    ("name", "data", "claimed", "problem"),
    [
        ("notes.png", b"just some text, not an image\n" * 4, "image/png", "is not an image or video"),
        ("cut.png", png(40, 30)[:-30], "image/png", "damaged or cut short"),
        ("fake.jpg", b"\xff\xd8\xff" + b"\x00garbage" * 20, "image/jpeg", "damaged or cut short"),
        ("header.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png", "damaged or cut short"),
    ],
    ids=["text-named-png", "truncated-png", "jpeg-magic-only", "png-magic-only"],
)
def test_upload_is_judged_by_its_bytes_not_its_name(
    ocma: Ocma, workspace_id: str, name: str, data: bytes, claimed: str, problem: str
) -> None:
    auth = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.EDITOR).key}"}
    with TestClient(create_app(ocma, run_worker=False)) as client:
        refused = client.post("/v1/media", headers=auth, files={"file": (name, data, claimed)})
    assert refused.status_code == 422, refused.text
    assert problem in refused.json()["detail"] and refused.json()["fix"]
    with ocma.session() as session:
        assert session.exec(select(func.count()).select_from(Media)).one() == 0
    assert not list((ocma.settings.data_dir / "incoming").glob("*"))  # the spooled copy is gone


def test_a_png_named_jpg_is_stored_as_what_it_is(ocma: Ocma, workspace_id: str) -> None:
    auth = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.EDITOR).key}"}
    with TestClient(create_app(ocma, run_worker=False)) as client:
        stored = client.post(
            "/v1/media", headers=auth, files={"file": ("photo.jpg", png(9, 4), "image/jpeg")}
        )
    assert stored.status_code == 201
    assert (stored.json()["mime_type"], stored.json()["width"], stored.json()["height"]) == (
        "image/png",
        9,
        4,
    )
