"""`ocma serve` and `ocma worker` refuse to start on an invalid platform setting rather than run without it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ocma_core.plugins import PluginHost
from ocma_core.registry import PLATFORMS, clear_caches


@pytest.fixture
def platforms_host() -> Iterator[PluginHost]:
    """FakeSocial, Mastodon and Bluesky, as an install with those plugins has them."""
    import ocma_bluesky
    import ocma_example_platform
    import ocma_mastodon

    from ocma_core.plugins import reset_host

    host = PluginHost()
    host.register(ocma_example_platform, name="ocma_example_platform")
    host.register(ocma_mastodon, name="mastodon")
    host.register(ocma_bluesky, name="bluesky")
    reset_host(host)
    yield host
    reset_host(None)


@pytest.mark.parametrize("command", [["serve"], ["worker", "-p", "1"]])
def test_a_bad_platform_cap_stops_serve_and_worker_naming_the_setting(
    install: dict[str, Path],
    platforms_host: PluginHost,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    """Before, the platform was left out (a logged traceback) and its due posts waited for ever."""
    from ocma_core.cli.main import main

    monkeypatch.setenv("OCMA_MASTODON_MAX_CONCURRENCY", "0")
    clear_caches()
    with pytest.raises(SystemExit) as stopped:
        main(command)
    assert stopped.value.code == 1
    err = capsys.readouterr().err
    assert "OCMA_MASTODON_MAX_CONCURRENCY is '0'" in err
    assert "Set OCMA_MASTODON_MAX_CONCURRENCY" in err
    assert "Traceback" not in err
    assert not (install["data"] / "ocma.db").exists()  # refused before touching the database


def test_every_bad_platform_setting_is_named_at_once(
    install: dict[str, Path], platforms_host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two wrong settings: the operator learns of both from one start, not one per restart."""
    from ocma_core.cli.setup import startup_context
    from ocma_core.errors import ConfigError

    monkeypatch.setenv("OCMA_MASTODON_MAX_CONCURRENCY", "many")
    monkeypatch.setenv("OCMA_BLUESKY_MAX_CONCURRENCY", "5000")
    clear_caches()
    with pytest.raises(ConfigError) as caught:
        startup_context(create_key=True)
    message = str(caught.value)
    assert "OCMA_MASTODON_MAX_CONCURRENCY is 'many'" in message
    assert "OCMA_BLUESKY_MAX_CONCURRENCY is '5000'" in message
    assert "mastodon" not in PLATFORMS.items() and "bluesky" not in PLATFORMS.items()


def test_a_valid_platform_cap_starts(
    install: dict[str, Path], platforms_host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check passes valid settings through: the platform runs with the operator's cap."""
    from ocma_core.cli.setup import startup_context

    monkeypatch.setenv("OCMA_MASTODON_MAX_CONCURRENCY", "3")
    clear_caches()
    startup_context(create_key=True)
    assert PLATFORMS.items()["mastodon"].max_concurrency == 3
    assert PLATFORMS.config_errors() == []


def test_doctor_names_the_setting_and_its_fix(
    install: dict[str, Path], platforms_host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ocma doctor` still runs (it is how an operator finds the problem) and advises the setting, not a
    reinstall of the plugin."""
    from ocma_core.context import Ocma
    from ocma_core.services.doctor import check_plugins

    monkeypatch.setenv("OCMA_MASTODON_MAX_CONCURRENCY", "0")
    clear_caches()
    findings = [f for f in check_plugins(Ocma(create_key=True)) if f.level == "error"]
    assert len(findings) == 1
    assert "OCMA_MASTODON_MAX_CONCURRENCY is '0'" in findings[0].message
    assert findings[0].fix is not None and findings[0].fix.startswith("Set OCMA_MASTODON_MAX_CONCURRENCY")
    assert "Reinstall" not in findings[0].fix
