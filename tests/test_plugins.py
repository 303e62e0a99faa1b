"""Plugin discovery through entry points, allow/deny lists, and isolation of broken plugins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ocma_core.plugins import PluginHost, load_plugins


def _install(site: Path, dist: str, module: str, source: str) -> None:
    """Lay a plugin out exactly as pip installs a wheel: the module plus a .dist-info with entry points."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-0.3.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.3.1\n")
    (info / "entry_points.txt").write_text(f"[ocma]\n{module} = {module}\n")
    (info / "RECORD").write_text("")


GOOD = """
    from ocma_core import Capability, Limits, Platform, TextLimit, hookimpl

    class Threads(Platform):
        name = "threadsx"
        capabilities = frozenset({Capability.PUBLISH_TEXT})
        limits = Limits(text=TextLimit(max_length=500))

    @hookimpl
    def register_platforms(register):
        register(Threads)
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    _install(site, "ocma-threadsx", "ocma_threadsx", GOOD)
    _install(site, "ocma-broken", "ocma_broken", "raise RuntimeError('boom at import')\n")
    _install(
        site,
        "ocma-typo",
        "ocma_typo",
        """
        from ocma_core import hookimpl

        @hookimpl
        def register_platfroms(register):
            pass
    """,
    )
    return site


def _ocma_plugins(site: Path, **env: str) -> list[dict[str, object]]:
    full_env = {
        k: v for k, v in os.environ.items() if k not in ("OCMA_LOAD_PLUGINS", "OCMA_DISABLED_PLUGINS")
    }
    full_env.update({"PYTHONPATH": str(site), **env})
    out = subprocess.run(
        [sys.executable, "-m", "ocma_core.cli", "plugins", "--json"],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_installed_plugin_is_discovered_and_broken_ones_reported(site: Path) -> None:
    rows = {r["name"]: r for r in _ocma_plugins(site)}
    assert rows["ocma_threadsx"]["version"] == "0.3.1"
    assert rows["ocma_threadsx"]["registered"] == {"platforms": ["threadsx"]}
    assert rows["ocma_threadsx"]["hooks"] == ["register_platforms"]
    assert "boom at import" in str(rows["ocma_broken"]["error"])
    assert "register_platfroms" in str(rows["ocma_typo"]["error"])


def _external(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return [r for r in rows if r["distribution"] != "ocma"]  # built-in features always load


def test_load_plugins_allow_list_and_disable(site: Path) -> None:
    assert _external(_ocma_plugins(site, OCMA_LOAD_PLUGINS="")) == []
    only = _external(_ocma_plugins(site, OCMA_LOAD_PLUGINS="ocma-threadsx"))
    assert [r["name"] for r in only] == ["ocma_threadsx"]
    names = {r["name"] for r in _ocma_plugins(site, OCMA_DISABLED_PLUGINS="ocma-broken,ocma_typo")}
    assert "ocma_broken" not in names and "ocma_typo" not in names and "ocma_threadsx" in names


def test_hook_that_raises_is_recorded_not_fatal() -> None:
    from ocma_core import hookimpl

    class Bad:
        @hookimpl
        def register_platforms(self, register: object) -> None:
            raise ValueError("cannot register today")

    import ocma_example_platform

    host = PluginHost()
    host.register(Bad(), name="bad")
    host.register(ocma_example_platform, name="example")
    from ocma_core.plugins import reset_host
    from ocma_core.registry import get_platforms

    reset_host(host)
    try:
        assert list(get_platforms()) == ["fakesocial"]
        assert any(e.name == "bad" and "cannot register today" in (e.error or "") for e in host.errors)
    finally:
        reset_host(None)


def test_plugin_modules_env_loads_one_off_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_local_plugin.py").write_text(textwrap.dedent(GOOD))
    monkeypatch.syspath_prepend(str(tmp_path))
    host = load_plugins(
        PluginHost(), {"OCMA_PLUGIN_MODULES": "my_local_plugin,missing_module_xyz", "OCMA_LOAD_PLUGINS": ""}
    )
    assert "my_local_plugin" in host.infos
    assert any("missing_module_xyz" in (e.error or "") for e in host.errors)
