"""`ocma accounts connect --listen`: the CLI catches the OAuth redirect on a local port, as on a laptop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from ocma_core.context import Ocma
from ocma_core.services.accounts import list_accounts

EXAMPLE = str(Path(__file__).parent / "example_platform")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(ocma: Ocma, fake: Any, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "OCMA_DATABASE_URL": ocma.settings.resolved_database_url,
        "OCMA_ENCRYPTION_KEYS": ocma.settings.encryption_keys or "",
        "OCMA_DATA_DIR": str(tmp_path),
        "OCMA_LOAD_PLUGINS": "",
        "OCMA_PLUGIN_MODULES": "ocma_example_platform",
        "OCMA_FAKESOCIAL_API_BASE": fake.base_url,
        "PYTHONPATH": EXAMPLE,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "ocma_core.cli", "accounts", "connect", "fakesocial", *args],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_listen_catches_the_redirect_and_connects(
    ocma: Ocma, workspace_id: str, fake: Any, tmp_path: Path
) -> None:
    port = _free_port()
    cli = _cli(ocma, fake, tmp_path, "--workspace", workspace_id, "--listen", "--port", str(port))
    try:
        assert cli.stdout is not None
        url = ""
        for line in cli.stdout:
            if line.startswith("http"):
                url = line.strip()
                break
        assert f"redirect_uri=http%3A%2F%2F127.0.0.1%3A{port}%2Foauth%2Fcallback%2Ffakesocial" in url
        # The browser: consent at the platform, which redirects to the CLI's local listener. The CLI binds
        # its port before it prints the link, so the first try reaches it.
        page = httpx.get(url, follow_redirects=True, timeout=60)
        assert page.status_code == 200 and "OCMA received the authorisation" in page.text
        out, err = cli.communicate(timeout=60)
    finally:
        cli.kill()
    assert cli.returncode == 0, err
    assert "Connected fakesocial account" in out
    connected = list_accounts(ocma, workspace_id)
    assert len(connected) == 1 and connected[0].platform == "fakesocial"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_listen_says_why_it_gave_up(ocma: Ocma, workspace_id: str, fake: Any, tmp_path: Path) -> None:
    quiet = _cli(
        ocma,
        fake,
        tmp_path,
        "--workspace",
        workspace_id,
        "--listen",
        "--port",
        str(_free_port()),
        "--timeout",
        "0.5",
    )
    _out, err = quiet.communicate(timeout=60)
    assert quiet.returncode == 1
    assert "No answer from the platform within 0.5 s" in err and "approve access" in err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = str(busy.getsockname()[1])
        blocked = _cli(ocma, fake, tmp_path, "--workspace", workspace_id, "--listen", "--port", taken)
        _out, err = blocked.communicate(timeout=60)
    assert blocked.returncode == 1 and f"Cannot listen on 127.0.0.1:{taken}" in err and "--port" in err
    assert list_accounts(ocma, workspace_id) == []


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_taken_port_is_refused_before_any_link_is_shown(
    ocma: Ocma, workspace_id: str, fake: Any, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cli = _cli(ocma, fake, tmp_path, "--workspace", workspace_id, "--listen", "--port", str(port))
        out, err = cli.communicate(timeout=60)
    assert cli.returncode != 0 and f"Cannot listen on 127.0.0.1:{port}" in err
    assert "http" not in out  # no link that leads nowhere
