"""Install and uninstall plugins into the environment OCMA runs in (as `llm install` and `datasette install` do).

The project's own environment has no pip, so the installer is uv when it can be found (on PATH, in the source
checkout's `.tools`, or importable as a module), else the running interpreter's pip. Either way the packages
go to the environment of the interpreter running `ocma` (`uv pip install --python <that interpreter>`).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from ocma_core.errors import ConfigError


def _checkout_uv() -> Path | None:
    """uv in `.tools` of the source checkout OCMA runs from (`python3 dev.py` installs it there)."""
    root = Path(__file__).resolve().parent.parent
    for candidate in (root / ".tools" / "bin" / "uv", root / ".tools" / "Scripts" / "uv.exe"):
        if candidate.exists():
            return candidate
    return None


def installer(action: str, python: str | None = None) -> list[str]:
    """The command prefix that runs `action` ("install" or "uninstall") on `python`'s environment (default:
    the running interpreter's)."""
    target = python or sys.executable
    uv = os.environ.get("OCMA_UV") or shutil.which("uv") or _checkout_uv()
    if uv:
        return [str(uv), "pip", action, "--python", target]
    if importlib.util.find_spec("uv") is not None:
        return [sys.executable, "-m", "uv", "pip", action, "--python", target]
    if importlib.util.find_spec("pip") is not None and target == sys.executable:
        return [target, "-m", "pip", action, *(["--yes"] if action == "uninstall" else [])]
    raise ConfigError(
        "Neither uv nor pip is available to install plugins.",
        fix="Install uv (https://docs.astral.sh/uv/), or run `python3 dev.py ocma plugins install ...` in a"
        " source checkout.",
    )


def install_command(
    packages: Sequence[str],
    *,
    editable: Sequence[str] = (),
    upgrade: bool = False,
    python: str | None = None,
) -> list[str]:
    """The full install command for `packages` and the editable source directories `editable`."""
    cmd = installer("install", python)
    if upgrade:
        cmd.append("--upgrade")
    for path in editable:
        cmd += ["--editable", str(Path(path).resolve())]
    return [*cmd, *packages]


def uninstall_command(packages: Sequence[str], *, python: str | None = None) -> list[str]:
    """The full uninstall command for the distributions `packages`."""
    return [*installer("uninstall", python), *packages]


def run(cmd: Sequence[str]) -> int:
    """Run an installer command, its output going to the terminal; its exit status."""
    return subprocess.call(list(cmd))
