"""An OCMA context on a fresh SQLite database with only this plugin loaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def ocma(tmp_path: Path) -> Iterator[object]:
    """The context, migrated, with one workspace."""
    import ocma_stripe
    from cryptography.fernet import Fernet

    from ocma_core.app import Ocma
    from ocma_core.app.plugins import Settings
    from ocma_core.db.engine import dispose_engines
    from ocma_core.plugins import PluginHost, reset_host

    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'ocma.db'}",
        encryption_keys=Fernet.generate_key().decode(),
        weekly_report_at="off",
        metrics_interval_s=0,
        _env_file=None,  # type: ignore[call-arg]
    )
    host = PluginHost()
    host.register(ocma_stripe, name="stripe", distribution="ocma-stripe")
    reset_host(host)
    context = Ocma(settings)
    context.migrate(auto_upgrade_empty=True)
    yield context
    reset_host(None)
    dispose_engines()
