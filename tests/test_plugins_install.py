"""`ocma plugins install|uninstall` installs into the environment OCMA runs in (here: a scratch one)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from ocma_core import plugin_install
from ocma_core.plugin_install import install_command, installer, uninstall_command

ROOT = Path(__file__).resolve().parent.parent


def _wheel(folder: Path) -> Path:
    """A plugin wheel made by hand (nothing is downloaded or built)."""
    wheel = folder / "ocma_scratch-0.1.0-py3-none-any.whl"
    info = "ocma_scratch-0.1.0.dist-info"
    files = {
        "ocma_scratch.py": "from ocma_core import hookimpl\n",
        f"{info}/METADATA": "Metadata-Version: 2.1\nName: ocma-scratch\nVersion: 0.1.0\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/entry_points.txt": "[ocma]\nscratch = ocma_scratch\n",
    }
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        archive.writestr(f"{info}/RECORD", "".join(f"{name},,\n" for name in files) + f"{info}/RECORD,,\n")
    return wheel


def test_the_installer_targets_the_running_interpreter() -> None:
    cmd = install_command(["ocma-threads"], editable=["plugins/platforms/sandbox"], upgrade=True)
    assert sys.executable in cmd  # `--python <it>` for uv, `<it> -m pip` otherwise
    assert cmd[-3:] == ["--editable", str((Path("plugins/platforms/sandbox")).resolve()), "ocma-threads"]
    assert "uninstall" in uninstall_command(["ocma-threads"])


def test_install_and_uninstall_a_plugin_wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if "uv" not in Path(installer("install")[0]).name:
        pytest.skip("uv is not available here")
    uv = installer("install")[0]
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    python = str(venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python"))
    monkeypatch.setattr(plugin_install.sys, "executable", python)  # "the environment OCMA runs in"
    from ocma_core.cli.main import cli

    wheel = _wheel(tmp_path)
    result = CliRunner().invoke(cli, ["plugins", "install", str(wheel)])
    assert result.exit_code == 0, result.output
    show = [python, "-c", "import importlib.metadata as m; print(m.version('ocma-scratch'))"]
    assert subprocess.run(show, capture_output=True, text=True, check=True).stdout.strip() == "0.1.0"
    result = CliRunner().invoke(cli, ["plugins", "uninstall", "ocma-scratch"])
    assert result.exit_code == 0, result.output
    assert subprocess.run(show, capture_output=True, text=True).returncode != 0


def test_install_needs_something_to_install() -> None:
    from ocma_core.cli.main import cli

    result = CliRunner().invoke(cli, ["plugins", "install"])
    assert result.exit_code == 2 and "Name a package, or give -e PATH" in result.output


def test_dev_py_keeps_what_a_person_installed() -> None:
    text = (ROOT / "dev.py").read_text()
    assert '"sync", "--frozen", "--inexact"' in text  # a plain sync would uninstall `ocma plugins install`s
