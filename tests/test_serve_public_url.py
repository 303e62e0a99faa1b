"""`ocma serve --port N` signs links for the port it serves, unless OCMA_PUBLIC_URL says where OCMA is reached."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from ocma_core.cli.main import cli


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """Run `ocma serve` up to the point uvicorn would start, and capture what it was given."""
    import uvicorn

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    monkeypatch.chdir(tmp_path)
    for name in ("OCMA_PUBLIC_URL", "OCMA_PORT", "OCMA_HOST", "OCMA_DATABASE_URL", "OCMA_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OCMA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OCMA_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    return seen


def _public_url(seen: dict[str, Any]) -> str:
    return str(seen["app"].state.ocma.settings.public_url)


def test_links_name_the_port_served(served: dict[str, Any]) -> None:
    result = CliRunner().invoke(cli, ["serve", "--port", "9123"])
    assert result.exit_code == 0, result.output
    assert served["port"] == 9123
    assert _public_url(served) == "http://127.0.0.1:9123"


def test_all_interfaces_still_sign_a_loopback_link(served: dict[str, Any]) -> None:
    CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "9124"])
    assert _public_url(served) == "http://127.0.0.1:9124"


def test_ocma_public_url_wins(served: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCMA_PUBLIC_URL", "https://ocma.example.org")
    CliRunner().invoke(cli, ["serve", "--port", "9125"])
    assert _public_url(served) == "https://ocma.example.org"
