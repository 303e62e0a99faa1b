"""Make the tests' helpers importable by name (pytest runs with --import-mode=importlib)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


from collections.abc import Iterator

import pytest


@pytest.fixture
def ocma(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """An OCMA context on a fresh SQLite database with only the sandbox plugin loaded.

    OCMA_DATA_DIR is set too, because the sandbox platform (like any plugin) finds its feed from the
    environment, as every OCMA process does.
    """
    import ocma_sandbox
    from cryptography.fernet import Fernet

    from ocma_core.app import Ocma
    from ocma_core.app.plugins import Settings
    from ocma_core.db.engine import dispose_engines
    from ocma_core.plugins import PluginHost, reset_host

    monkeypatch.setenv("OCMA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OCMA_PUBLIC_URL", "http://127.0.0.1:8000")
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'ocma.db'}",
        encryption_keys=Fernet.generate_key().decode(),
        public_url="http://127.0.0.1:8000",
        weekly_report_at="off",
        metrics_interval_s=0,
        _env_file=None,  # type: ignore[call-arg]
    )
    host = PluginHost()
    host.register(ocma_sandbox, name="sandbox", distribution="ocma-sandbox")
    reset_host(host)
    context = Ocma(settings)
    context.migrate(auto_upgrade_empty=True)
    yield context
    reset_host(None)
    dispose_engines()
