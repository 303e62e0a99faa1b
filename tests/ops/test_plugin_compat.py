"""Plugins declare the OCMA versions they support; `ocma plugins` and `ocma doctor` say when one does not fit."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from ops_support import OCMA

from ocma_core import __version__
from ocma_core.plugin_compat import declared_versions, misfit

HERE = Path(__file__).parent


def run(*argv: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCMA_")}
    env.update(
        OCMA_DATA_DIR=str(tmp),
        OCMA_DATABASE_URL=f"sqlite:///{tmp / 'ocma.db'}",
        OCMA_LOAD_PLUGINS="ocma-x",
        OCMA_PLUGIN_MODULES="ocma_ops_future_plugin",
        PYTHONPATH=str(HERE),
    )
    return subprocess.run([OCMA, *argv], env=env, capture_output=True, text=True, timeout=300)


def test_the_in_repo_plugins_declare_the_core_versions_they_support() -> None:
    for distribution in (
        "ocma-x",
        "ocma-bluesky",
        "ocma-mastodon",
        "ocma-linkedin",
        "ocma-facebook",
        "ocma-instagram",
        "ocma-threads",
        "ocma-tiktok",
        "ocma-pinterest",
        "ocma-litellm",
    ):
        versions = declared_versions(distribution, None)
        assert versions, f"{distribution} declares no OCMA versions"
        assert misfit(distribution, versions) is None


@pytest.mark.parametrize(
    ("versions", "fits"),
    [(f"=={__version__}", True), (">=0.1,<0.2", True), (">=99", False), ("", True), (None, True)],
)
def test_misfit(versions: str | None, fits: bool) -> None:
    assert (misfit("p", versions) is None) is fits


def test_a_bad_range_is_reported_not_raised() -> None:
    assert "is not a version range" in (misfit("p", "0.1-0.2") or "")


def test_ocma_plugins_and_doctor_name_a_plugin_that_does_not_fit(tmp_path: Path) -> None:
    listed = run("plugins", "--json", tmp=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["x"]["core_versions"] == "<0.2,>=0.1" and rows["x"]["error"] is None
    future = rows["ocma_ops_future_plugin"]
    assert future["core_versions"] == ">=99.0,<100"
    assert f"supports OCMA >=99.0,<100, but this is OCMA {__version__}" in future["error"]
    table = run("plugins", tmp=tmp_path)
    assert "ocma_ops_future_plugin" in table.stdout and "does not" not in table.stderr
    assert run("init", tmp=tmp_path).returncode == 0
    doctor = run("doctor", "--json", tmp=tmp_path)
    findings = [f for f in json.loads(doctor.stdout) if f["check"] == "plugins"]
    assert doctor.returncode == 1
    assert any("ocma_ops_future_plugin" in f["message"] and f["level"] == "error" for f in findings)
