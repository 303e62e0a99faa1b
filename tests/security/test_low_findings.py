"""Low findings: media is served with nosniff, and a non-ASCII `sig` is a 403, not a server error."""

from __future__ import annotations

import struct
import zlib
from typing import Any

from fastapi.testclient import TestClient

from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.db.models import Role
from ocma_core.services.workspaces import create_api_key


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\xff\x00\x00" * 2 + b"\x00" + b"\x00\xff\x00" * 2)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def test_media_is_served_nosniff_and_a_non_ascii_sig_is_refused(
    ocma: Ocma, workspace_id: str, fake: Any
) -> None:
    key = create_api_key(ocma, workspace_id, role=Role.EDITOR).key
    with TestClient(create_app(ocma, run_worker=False), raise_server_exceptions=False) as client:
        body = client.post(
            "/v1/media",
            headers={"Authorization": f"Bearer {key}"},
            files={"file": ("a.png", _png(), "image/png")},
        ).json()
        url = body["url"].replace("http://127.0.0.1:8000", "")
        served = client.get(url)
        assert served.status_code == 200 and served.headers["x-content-type-options"] == "nosniff"
        odd = client.get(url.split("sig=")[0] + "sig=%C3%A9" + "0" * 63)
        assert odd.status_code == 403


def test_an_unknown_platform_suggests_only_packages_ocma_publishes(ocma: Ocma) -> None:
    import pytest

    from ocma_core.errors import UnknownPlatformError
    from ocma_core.registry import get_platform

    for typed, suggested in (
        ("evil-typosquat", None),
        ("linkdin", "ocma-linkedin"),
        ("mastodon", "ocma-mastodon"),
    ):
        with pytest.raises(UnknownPlatformError) as caught:
            get_platform(typed)
        fix = caught.value.fix or ""
        assert f"ocma-{typed}" not in fix or typed == "mastodon"
        assert "evil" not in fix
        if suggested:
            assert f"pip install {suggested}" in fix
        else:
            assert "ocma-x" in fix and "pip install" not in fix


def test_a_viewer_cannot_finalise_an_experiment(ocma: Ocma, workspace_id: str) -> None:
    viewer = create_api_key(ocma, workspace_id, role=Role.VIEWER).key
    with TestClient(create_app(ocma, run_worker=False)) as client:
        answer = client.post("/v1/experiments/any/evaluate", headers={"Authorization": f"Bearer {viewer}"})
    assert answer.status_code == 403 and "experiments.finalise" in answer.text


def test_debug_logs_carry_no_prompts_and_no_oauth_codes(capsys: Any) -> None:
    import logging

    from ocma_core.logs import configure_logging

    configure_logging(level="DEBUG")
    try:
        logging.getLogger("LiteLLM").debug(
            "POST Request Sent: messages=[{'content': 'CUSTOMER SECRET PROMPT'}]"
        )
        logging.getLogger("uvicorn.access").info(
            '127.0.0.1 - "GET /oauth/callback/x?state=STATE123&code=CODE456 HTTP/1.1" 200'
        )
        logging.getLogger("ocma_core.test").debug("still shown at DEBUG")
    finally:
        configure_logging(level="INFO")
    err = capsys.readouterr().err
    assert "CUSTOMER SECRET PROMPT" not in err
    assert "CODE456" not in err and "STATE123" not in err and "code=[redacted]" in err
    assert "still shown at DEBUG" in err
